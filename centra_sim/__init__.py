"""centra-sim: a local Centra Integration API, for the demo, the tests and the benchmarks.

A faithful fake in the manner of moto: it behaves as Centra documents, errors and limits included, so the
client code of centra_assets is tested for real. The product never imports it (demo.py and dev.py aside).

* ``store/``: the generated store (catalogue, order plans on a timeline, the records the API shows);
* ``api/``: the GraphQL schema (and its variants), resolvers, executor, complexity and permissions;
* ``backend.py``: the simulator's state and one GraphQL request; ``app.py``: it over HTTP;
* ``events.py`` (event queue and webhooks), ``faults.py``, ``ratelimit.py``, ``truth.py`` (ground truth);
* ``cli.py`` (``centra-sim``) and ``process.py`` (a simulator beside a program);
* ``testing/``: support shared by the tests and the benchmarks.
"""
