"""`python tests/accounts_server.py PORT`: the web app with the login of `coach users` on 127.0.0.1.

The same app as `coach serve`, its login checked by cli.login_check (the users of the sessions
database); used by the accounts tests until app.ui.app.launch takes that check itself.
"""

from __future__ import annotations

import sys

from app.cli import login_check
from app.services import build_services


def main(port: int) -> None:
    from app.ui.app import build_app

    services = build_services()
    check = login_check(services, "127.0.0.1", insecure=False)
    if check is None:
        raise SystemExit("no users: add one with `coach users add NAME` first")
    demo = build_app(services)
    demo.queue(default_concurrency_limit=8)
    demo.launch(server_name="127.0.0.1", server_port=port, share=False, auth=check)


if __name__ == "__main__":
    main(int(sys.argv[1]))
