"""Validates the documents real GraphQL clients send against the schema a running server serves.

The schema is fetched the way gql-based clients fetch it: by introspection, without a token
(`fetch_schema_from_transport=True`). Every `*.graphql` file in this folder (or the folder given) is
then parsed and validated by graphql-core, the reference implementation gql uses.

Usage: validate.py URL [FOLDER]

Prints one line per document, `OK <file>` or `INVALID <file>: <error>; <error>...`, then
`SUMMARY <valid> valid, <invalid> invalid`; exits with 1 when any document does not validate.
"""

import sys
from pathlib import Path

from gql import Client
from gql.transport.requests import RequestsHTTPTransport
from graphql import GraphQLError, parse, validate


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    url = sys.argv[1]
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parent
    transport = RequestsHTTPTransport(url=url, timeout=60, retries=0)
    client = Client(transport=transport, fetch_schema_from_transport=True)
    with client:
        schema = client.schema
    if schema is None:
        print("NO-SCHEMA the server answered no schema", flush=True)
        return 1
    print(f"SCHEMA {len(schema.type_map)} types", flush=True)
    documents = sorted(folder.glob("*.graphql"))
    if not documents:
        print(f"NO-DOCUMENTS in {folder}", flush=True)
        return 1
    invalid = 0
    for path in documents:
        try:
            errors = validate(schema, parse(path.read_text(encoding="utf-8")))
        except GraphQLError as err:
            errors = [err]
        if errors:
            invalid += 1
            detail = "; ".join(error.message for error in errors)
            print(f"INVALID {path.name}: {detail}", flush=True)
        else:
            print(f"OK {path.name}", flush=True)
    print(f"SUMMARY {len(documents) - invalid} valid, {invalid} invalid", flush=True)
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
