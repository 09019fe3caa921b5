"""centra-assets: operator commands.

centra-assets check     connect with CENTRA_API_URL / CENTRA_API_TOKEN (or every store in CENTRA_STORES_FILE),
                        learn the store's schema, run every query the project uses once with the smallest limit,
                        and report the token, its read permissions, and the fields the store's schema lacks
centra-assets queries   print the query of each data type (as a store with the documented schema is sent it)
"""

from __future__ import annotations

import argparse
import os
import sys

from centra_assets.centra.client import CentraClient
from centra_assets.centra.errors import CentraAuthError, CentraError, CentraPermissionError, CentraSchemaError
from centra_assets.entities import ALL
from centra_assets.entities.query import default_plan, lacking_fields, plan_for


def project_queries(client: CentraClient | None = None) -> list[tuple[str, str, dict]]:
    """(data type, query, variables) for every query the project runs, with the smallest page: as fitted to the
    client's store, or as a store with the documented schema is sent them."""
    out = []
    for spec in ALL:
        plan = plan_for(client, spec) if client else default_plan(spec)
        out.append((spec.name, plan.document, {"where": None, "limit": 1, "page": 1}))
        for extra, document in (("count", spec.count_query), ("locate", spec.locate_query)):
            if document:
                variables = {"where": None} if extra == "count" else {"where": None, "limit": 1, "page": 1}
                out.append((f"{spec.name} ({extra})", document, variables))
    return out


def report_schema(client: CentraClient, out) -> bool:
    """Print what the store's schema lacks per data type; False when a data type cannot be synced at all."""
    schema = client.store_schema()
    how = "introspected" if schema.schema is not None else "introspection refused: learnt from validation errors"
    print(f"Centra version {schema.app_version} (schema {how})", file=out)
    fine = True
    lines = []
    for spec in ALL:
        try:
            plan = plan_for(client, spec)
        except CentraSchemaError as exc:
            lines.append(f"  CANNOT  {spec.name}: {exc}")
            fine = False
            continue
        except CentraPermissionError:
            continue  # named in the permissions report below
        for field in lacking_fields(plan):
            lines.append(f"  empty   {spec.name}: {field}")
        for column, path in plan.alternatives.items():
            lines.append(f"  alt     {spec.name}: {column} read from `{path}`")
    if lines:
        print("Fields this store's schema lacks (their columns stay empty) or names differently:", file=out)
        print("\n".join(lines), file=out)
    else:
        print("The store's schema has every field the project reads.", file=out)
    return fine


def check(url: str, token: str, out=sys.stdout) -> int:
    """0: everything readable; 1: read permissions missing; 2: token rejected or Centra unreachable."""
    client = CentraClient(url, token, max_attempts=3)
    print(f"Centra Integration API at {url}", file=out)
    try:
        limits = client.rate_limits()
    except CentraAuthError as exc:
        print(f"Token: REJECTED. {exc}", file=out)
        return 2
    except CentraError as exc:
        print(f"Cannot use Centra: {exc}", file=out)
        return 2
    print("Token: accepted", file=out)
    print(
        "Rate budget now (shared by every integration of the store): "
        + ", ".join(f"{b['type']} {b['remainingQuota']}/{b['quota']} per {b['intervalSeconds']}" for b in limits),
        file=out,
    )
    try:
        syncable = report_schema(client, out)
    except CentraError as exc:
        print(f"Cannot learn the store's schema: {exc}", file=out)
        return 2
    needed: dict[str, set[str]] = {}
    missing: dict[str, set[str]] = {}
    queries = project_queries(client)
    for name, query, variables in queries:
        try:
            used = client.execute(query, variables).extensions.get("permissionsUsed") or []
        except CentraPermissionError as exc:
            used = exc.used or list(exc.missing)
            for permission in exc.missing:
                missing.setdefault(permission, set()).add(name)
        except CentraError as exc:
            print(f"  {name}: the query failed: {exc}", file=out)
            return 2
        for permission in used:
            needed.setdefault(permission, set()).add(name)
    for permission in missing:
        needed.setdefault(permission, set()).update(missing[permission])
    print(f"\nRead permissions the project's {len(queries)} queries use:", file=out)
    for permission in sorted(needed):
        mark = "MISSING" if permission in missing else "ok     "
        print(f"  {mark}  {permission:<36} {', '.join(sorted(needed[permission]))}", file=out)
    writes = sorted(p for p in needed if not p.endswith(":read"))
    if writes:  # never expected: the sync is read-only
        print(f"\nUnexpected write permissions used: {', '.join(writes)}", file=out)
    if missing:
        print(
            f"\n{len(missing)} read permission(s) missing: {', '.join(sorted(missing))}. Add them to the token in "
            "Centra (System → API Tokens), or create a new token with all of the above.",
            file=out,
        )
        return 1
    print("\nAll read permissions present. The project needs no write permission.", file=out)
    return 0 if syncable else 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="centra-assets", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="check the token, its read permissions and the store's schema")
    queries = sub.add_parser("queries", help="print each data type's query, for review")
    queries.add_argument("data_types", nargs="*", help="data types (default: all)")
    args = parser.parse_args(argv)
    if args.command == "queries":
        for spec in ALL:
            if not args.data_types or spec.name in args.data_types:
                print(f"# {spec.name}\n{default_plan(spec).document}\n")
        return
    if args.command == "check":
        if os.environ.get("CENTRA_STORES_FILE"):
            sys.exit(check_stores(os.environ["CENTRA_STORES_FILE"]))
        url, token = os.environ.get("CENTRA_API_URL"), os.environ.get("CENTRA_API_TOKEN")
        if not url or not token:
            print("Set CENTRA_API_URL (https://<store>.centra.com/graphql) and CENTRA_API_TOKEN first.")
            sys.exit(2)
        sys.exit(check(url, token))


def check_stores(path: str, out=sys.stdout) -> int:
    """`check` for every store in a stores file; the worst exit code wins."""
    from centra_assets.settings import read_stores_file

    try:
        stores = read_stores_file(path)
    except ValueError as exc:
        print(exc, file=out)
        return 2
    worst = 0
    for store in stores:
        print(f"\n== store {store.name} ==", file=out)
        token = os.environ.get(store.token_env, "")
        if not token:
            print(f"Set {store.token_env} to the store's Integration API token.", file=out)
            worst = 2
            continue
        worst = max(worst, check(store.api_url, token, out))
    return worst


if __name__ == "__main__":
    main()
