"""``triage serve`` and ``triage token``: argument parsing here, the web stack imported only
when a command runs (``triage --version`` never loads it)."""

from __future__ import annotations

import argparse
import os
from typing import Any, TextIO

OK, USAGE = 0, 2
# Idle connections stay open longer than a client's pool keeps them (httpx: 5 s, browsers:
# up to 60 s): a server that closes first races the client's next request on that
# connection, which the client sees as a dropped connection (httpx.ReadError).
KEEP_ALIVE = 75.0
BACKLOG = 2048


def _whole(low: int, high: int) -> Any:
    """An argparse type: a whole number from ``low`` to ``high``."""

    def read(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low} to {high}, got {value}")
        return value

    return read


def _seconds(low: float, high: float) -> Any:
    """An argparse type: a number of seconds above ``low``, at most ``high`` (finite)."""

    def read(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
        if not low < value <= high:  # NaN fails both
            raise argparse.ArgumentTypeError(
                f"expected more than {low:g} and at most {high:g} seconds, got {text}"
            )
        return value

    return read


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run the HTTP service over a folder of protocols",
        description="Serve the protocols of PROTOCOL_DIR over HTTP (docs/service.md): calls, answers, "
        "sealed records, stored in SQLite (default, in the data folder) or PostgreSQL.",
    )
    p.add_argument("protocol_dir", metavar="PROTOCOL_DIR")
    _database_arguments(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_whole(1, 65535), default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=_whole(1, 64), default=1, help="worker processes (default 1)")
    p.add_argument(
        "--key-file",
        metavar="FILE",
        help="the record key for keyed seals (else $TRIAGE_RECORD_KEY_FILE or $TRIAGE_RECORD_KEY)",
    )
    p.add_argument(
        "--rescan",
        type=_seconds(0.0, 86400.0),
        default=2.0,
        metavar="SECONDS",
        help="look for changed protocol files at most this often (default 2)",
    )
    p.add_argument(
        "--sqlite-synchronous",
        choices=("full", "normal"),
        default=None,
        help="SQLite only: full (default; a stored answer survives a power loss: one fsync per "
        "answer) or normal (survives a killed process, but the last answers before a power loss "
        "may be lost; faster). Default: $TRIAGE_SQLITE_SYNCHRONOUS, else full",
    )
    p.add_argument(
        "--keep-alive",
        type=_seconds(0.0, 3600.0),
        default=KEEP_ALIVE,
        metavar="SECONDS",
        help=f"keep an idle client connection open this long (default {KEEP_ALIVE:g}; clients "
        "should close theirs sooner)",
    )
    p.add_argument(
        "--backlog",
        type=_whole(1, 65535),
        default=BACKLOG,
        help=f"connections waiting to be accepted (default {BACKLOG})",
    )
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.add_argument(
        "--roster", metavar="ROSTER.ics", help="on-call roster: resolve escalation roles to people"
    )
    p.add_argument("--contacts", metavar="FILE", help="each roster person's channels (with --roster)")
    p.add_argument(
        "--tz", metavar="ZONE", help="zone of the roster's floating times (default: its X-WR-TIMEZONE)"
    )
    p.set_defaults(handler=serve)

    p = sub.add_parser("token", help="make bearer tokens for the service")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = actions.add_parser("create", help="make a token; it is printed once and only its hash is stored")
    _database_arguments(c)
    c.add_argument("--role", required=True, choices=("call", "review", "admin"))
    c.add_argument("--name", default=None, help="who or what holds it (default: the role)")
    c.set_defaults(handler=token_create)
    c = actions.add_parser(
        "list", help="list the tokens: id, name, role, created, last used, revoked (never a secret)"
    )
    _database_arguments(c)
    c.add_argument("--format", choices=("text", "json"), default="text")
    c.set_defaults(handler=token_list)
    c = actions.add_parser(
        "revoke", help="revoke a token: every service process refuses it (401) from its next request"
    )
    _database_arguments(c)
    c.add_argument("token_id", metavar="ID", type=int, help="the token's id (see: triage token list)")
    c.set_defaults(handler=token_revoke)


def _database_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--database",
        metavar="URL",
        default=os.environ.get("TRIAGE_DATABASE"),
        help="sqlite:///FILE or postgresql://USER@HOST/DB (default: $TRIAGE_DATABASE, else SQLite in "
        "the data folder)",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        default=None,
        help="the data folder (default: $TRIAGE_DATA, else ./.triage-data)",
    )


def token_create(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.clock import SYSTEM_CLOCK
    from triage_dsl.store import StoreError, open_database
    from triage_dsl.store.tokens import create_token

    try:
        db = open_database(args.database, args.data_dir)
        token = create_token(db, args.role, args.name or args.role, SYSTEM_CLOCK.now(), by=_operator())
        db.dispose()
    except StoreError as exc:
        print(f"triage: {exc}", file=err)
        return USAGE
    print(token, file=out)
    print(
        f"triage: a '{args.role}' token; keep it now, it is not shown again (only its hash is stored)",
        file=err,
    )
    return OK


def _operator() -> str:
    """Who runs a token command, for the audit: the operating-system user."""
    import getpass

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"command line ({user})"


def _when(at: Any) -> str:
    return "-" if at is None else f"{at.date().isoformat()}T{at:%H:%M}Z"  # %Y gives "1" for year 1


def token_list(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    import json

    from triage_dsl.store import StoreError, open_database
    from triage_dsl.store.tokens import list_tokens

    try:
        db = open_database(args.database, args.data_dir)
        found = list_tokens(db)
        db.dispose()
    except StoreError as exc:
        print(f"triage: {exc}", file=err)
        return USAGE
    if args.format == "json":
        rows = [
            {
                "id": t.id,
                "name": t.name,
                "role": t.role,
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
            }
            for t in found
        ]
        print(json.dumps(rows, indent=2), file=out)
        return OK
    table = [("ID", "NAME", "ROLE", "CREATED", "LAST USED", "REVOKED")]
    table += [
        (str(t.id), t.name, t.role, _when(t.created_at), _when(t.last_used_at), _when(t.revoked_at))
        for t in found
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), file=out
        )
    if not found:
        print("triage: no tokens yet (make one with: triage token create --role ROLE)", file=err)
    return OK


def token_revoke(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.clock import SYSTEM_CLOCK
    from triage_dsl.store import StoreError, open_database
    from triage_dsl.store.tokens import revoke_token

    try:
        db = open_database(args.database, args.data_dir)
        info, now_revoked = revoke_token(db, args.token_id, SYSTEM_CLOCK.now(), _operator())
        db.dispose()
    except StoreError as exc:
        print(f"triage: {exc}", file=err)
        return USAGE
    if not now_revoked:
        print(
            f"triage: token {info.id} ({info.name}) was already revoked at {_when(info.revoked_at)}", file=err
        )
    else:
        print(
            f"triage: token {info.id} ({info.name}, role {info.role}) revoked: every service process "
            "refuses it from its next request",
            file=err,
        )
    return OK


def serve(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    import copy
    from pathlib import Path

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from triage_dsl.store import StoreError, open_database

    if not os.path.isdir(args.protocol_dir):  # never raises (Path.is_dir does for a name too long)
        print(f"triage: {args.protocol_dir}: not a folder of protocols", file=err)
        return USAGE
    try:  # migrate once, before any worker starts
        open_database(args.database, args.data_dir, args.sqlite_synchronous).dispose()
    except StoreError as exc:
        print(f"triage: {exc}", file=err)
        return USAGE
    if bool(args.roster) != bool(args.contacts):
        print("triage: --roster and --contacts go together", file=err)
        return USAGE
    if args.roster:  # read once here, so a bad file stops the start with its reason
        from triage_dsl.errors import TriageError
        from triage_dsl.roster.directory import Directory

        try:
            Directory.load(args.roster, args.contacts, args.tz)
        except TriageError as exc:
            print(f"triage: {exc}", file=err)
            return USAGE
    settings = {
        "TRIAGE_SERVE_PROTOCOLS": str(Path(args.protocol_dir).resolve()),
        "TRIAGE_SERVE_DATABASE": args.database or "",
        "TRIAGE_SERVE_DATA": str(Path(args.data_dir).resolve()) if args.data_dir else "",
        "TRIAGE_SERVE_KEY_FILE": args.key_file or "",
        "TRIAGE_SERVE_RESCAN": str(args.rescan),
        "TRIAGE_SERVE_ROSTER": str(Path(args.roster).resolve()) if args.roster else "",
        "TRIAGE_SERVE_CONTACTS": str(Path(args.contacts).resolve()) if args.contacts else "",
        "TRIAGE_SERVE_TZ": args.tz or "",
    }
    if args.sqlite_synchronous:
        settings["TRIAGE_SQLITE_SYNCHRONOUS"] = args.sqlite_synchronous
    os.environ.update(settings)
    log_config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    log_config["loggers"]["triage_dsl"] = {
        "handlers": ["default"],
        "level": args.log_level.upper(),
        "propagate": False,
    }
    problem = cannot_listen(args.host, args.port)
    if problem is not None:  # said here, before the protocols load, not in uvicorn's log
        print(f"triage: cannot listen on {args.host}:{args.port}: {problem}", file=err)
        return USAGE
    print(f"triage: serving {args.protocol_dir} ({fast_paths()}, {args.workers} worker(s))", file=err)
    uvicorn.run(
        "triage_dsl.service.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=log_config,
        timeout_keep_alive=max(1, round(args.keep_alive)),
        backlog=args.backlog,
        loop="auto",  # uvloop when installed
        http="auto",  # httptools when installed
    )
    return OK


def cannot_listen(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (an unknown address, one of another machine,
    a port in use), or None. Bound and released at once, as uvicorn binds it next."""
    import errno
    import socket

    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        return f"not an address of this machine ({getattr(exc, 'strerror', None) or exc})"
    family, kind, proto, _, address = found[0]
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        hint = (
            "; another triage serve may be running there: choose another --port"
            if exc.errno == errno.EADDRINUSE
            else ""
        )
        return f"{exc.strerror or exc}{hint}"
    return None


def fast_paths() -> str:
    """The event loop and HTTP parser uvicorn's ``auto`` picks: uvloop and httptools when
    installed (the service's dependencies), else asyncio and h11 (several times slower)."""
    import importlib.util

    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    loop = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
    http = "httptools" if AutoHTTPProtocol.__name__ == "HttpToolsProtocol" else "h11"
    return f"event loop {loop}, HTTP parser {http}"
