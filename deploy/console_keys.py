"""`python -m deploy.console_keys <prefix>`: a new key pair for one instance's console.

Writes `<prefix>.console.pem` (the private key: the console signs persons' tokens with it; keep it
secret) and `<prefix>.console.pub` (the public key the instance's four services verify them with).
To rotate, give the services the old and the new public keys one after the other in one file, then
the console the new private key, then drop the old public key.
"""

from __future__ import annotations

import sys
from pathlib import Path

from shared.http.tokens import new_key_pair


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    prefix = Path(sys.argv[1])
    private, public = Path(f"{prefix}.console.pem"), Path(f"{prefix}.console.pub")
    if private.exists():
        print(f"{private} exists already: not overwritten", file=sys.stderr)
        return 1
    private_pem, public_pem = new_key_pair()
    private.write_text(private_pem)
    private.chmod(0o600)
    public.write_text(public_pem)
    print(f"wrote {private} (secret) and {public}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
