"""centra-assets: operator commands.

centra-assets check     connect with CENTRA_API_URL / CENTRA_API_TOKEN (or every store in CENTRA_STORES_FILE),
                        run every query the project uses once with the smallest limit, and report the token
                        and its read permissions
"""

from __future__ import annotations

import argparse
import os
import sys

from centra_assets.centra.client import CentraClient
from centra_assets.centra.errors import CentraAuthError, CentraError, CentraPermissionError
from centra_assets.entities import ALL


def project_queries() -> list[tuple[str, str, dict]]:
    """(data type, query, variables) for every query the project runs, with the smallest page."""
    out = []
    for spec in ALL:
        out.append((spec.name, spec.query, {"where": None, "limit": 1, "page": 1}))
        if spec.count_query:
            out.append((f"{spec.name} (count)", spec.count_query, {"where": None}))
    return out


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
    needed: dict[str, set[str]] = {}
    missing: dict[str, set[str]] = {}
    for name, query, variables in project_queries():
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
    print(f"\nRead permissions the project's {len(project_queries())} queries use:", file=out)
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
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="centra-assets", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="check the token and its read permissions")
    args = parser.parse_args(argv)
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
