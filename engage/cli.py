"""The `engage` command. Bad input or configuration: one line on stderr, exit code 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.exc import OperationalError

# Every mapped class, so a flush can resolve any foreign key whatever this process imported first.
import engage.models  # noqa: F401
from engage import jobs
from engage.errors import EngageError
from engage.settings import ConfigError, Settings, load_settings

USAGE_ERROR = 2


class CommandFailed(Exception):
    """A command that ran but found a problem (exit 1), such as a broken audit chain."""


def _fail(message: str, code: int) -> int:
    print(f"engage: {message}", file=sys.stderr)
    return code


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> None:
    from engage.migrate import upgrade

    upgrade(settings.database_url, args.revision)
    print(f"database at revision {args.revision}")


def cmd_db_downgrade(settings: Settings, args: argparse.Namespace) -> None:
    from engage.migrate import downgrade

    downgrade(settings.database_url, args.revision)
    print(f"database at revision {args.revision}")


def _session(settings: Settings):  # type: ignore[no-untyped-def]
    from engage.db import make_sync_engine, sync_session

    return sync_session(make_sync_engine(settings.database_url))


def cmd_organizer_create(settings: Settings, args: argparse.Namespace) -> None:
    from engage.accounts.services import create_organizer

    with _session(settings) as session:
        organizer, password = create_organizer(session, args.email, args.role)
        print(f"organizer {organizer.email} ({organizer.role}) created")
        print(f"password: {password}")


def cmd_organizer_password(settings: Settings, args: argparse.Namespace) -> None:
    from engage.accounts.services import reset_password

    with _session(settings) as session:
        password = reset_password(session, args.email)
        print(f"new password for {args.email}: {password}")


def cmd_token_create(settings: Settings, args: argparse.Namespace) -> None:
    from engage.accounts.services import create_token

    with _session(settings) as session:
        token = create_token(session, args.email, scope=args.scope, days=args.days, sandbox=args.sandbox)
    print(token)


def cmd_token_list(settings: Settings, args: argparse.Namespace) -> None:
    from engage.accounts.services import list_tokens
    from engage.db import utcnow

    with _session(settings) as session:
        found = list_tokens(session, args.email)
    now = utcnow()
    for t in found:
        day = f"{t.expires_at:%Y-%m-%d}"
        scope = f"{t.scope} sandbox" if t.sandbox else t.scope
        print(f"{t.id}\t{t.email}\t{scope}\t{t.state(now)}\tcreated {t.created_at:%Y-%m-%d}\texpires {day}")
    if not found:
        print("no tokens")


def cmd_token_revoke(settings: Settings, args: argparse.Namespace) -> None:
    from engage.accounts.services import revoke_token

    with _session(settings) as session:
        revoke_token(session, args.id)
    print(f"token {args.id} revoked")


def cmd_organizer_disable(settings: Settings, args: argparse.Namespace) -> None:
    from engage.accounts.services import disable_organizer

    with _session(settings) as session:
        disable_organizer(session, args.email)
    print(f"{args.email} disabled: its sessions and tokens ended")


def cmd_organizer_enable(settings: Settings, args: argparse.Namespace) -> None:
    from engage.accounts.services import enable_organizer

    with _session(settings) as session:
        enable_organizer(session, args.email)
    print(f"{args.email} enabled: sign in again; create new tokens as needed")


def cmd_organizer_totp_reset(settings: Settings, args: argparse.Namespace) -> None:
    from engage.accounts.services import reset_totp

    with _session(settings) as session:
        reset_totp(session, args.email)
    print(f"{args.email}: second factor removed and sessions ended; set it up again at the next sign-in")


def cmd_privacy_purge(settings: Settings, args: argparse.Namespace) -> None:
    from engage.privacy import purge

    with _session(settings) as session:
        counts = purge(session, settings)
    for what, rows in counts.items():
        print(f"{what}\t{rows}")


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> None:
    from engage.audit.services import verify

    with _session(settings) as session:
        count, broken = verify(session)
    if broken is not None:
        raise CommandFailed(f"audit chain broken at entry {broken.entry_id}: {broken.reason}")
    print(f"audit chain intact: {count} entries")


def cmd_privacy_report(settings: Settings, args: argparse.Namespace) -> None:
    from engage.phones import normalise
    from engage.privacy import report

    phone = normalise(args.phone, settings.default_region, "phone")
    with _session(settings) as session:
        lines = report(session, phone)
    for what, rows in lines:
        print(f"{what}\t{rows}")


def cmd_sms_send(settings: Settings, args: argparse.Namespace) -> None:
    from engage.redis_embedded import running_url
    from engage.sms.services import queue_message

    redis_url = settings.redis_url or running_url(settings.var_dir)
    if not redis_url:
        raise ConfigError("REDIS_URL", "unset and no embedded server is running (start `make run`)")
    with _session(settings) as session:
        message = queue_message(session, "cli", args.to, args.body, settings.default_region)
        message_id = message.id
    jobs.enqueue_text(redis_url, message_id)
    print(f"message {message_id} queued")


def cmd_seed(settings: Settings, args: argparse.Namespace) -> None:
    from engage.seed import seed_demo

    with _session(settings) as session:
        result = seed_demo(session, residents=args.residents)
    if not result.created:
        print(f"already seeded: {result.communities} communities, {result.residents} residents")
        return
    print(f"seeded {result.communities} communities and {result.residents} residents")
    from engage.selections.demo import seed_selections

    demo = seed_selections(settings)
    if demo is not None:
        print(f"demo selections: {demo.finished_id} (finished), {demo.in_progress_id} (in progress)")
    if result.admin_password:
        print(f"admin sign-in: {result.admin_email} / {result.admin_password}")


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    from engage.runner import serve

    serve(settings, host=args.host, port=args.port, workers=args.workers)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    from engage.runner import worker

    worker(settings, burst=args.burst)


def cmd_sweep(settings: Settings, args: argparse.Namespace) -> None:
    from engage.runner import redis_url_for
    from workers import context
    from workers.sweep import sweep

    context.use(settings.model_copy(update={"redis_url": redis_url_for(settings)}))
    found = sweep()
    print(", ".join(f"{kind}: {count}" for kind, count in sorted(found.items())) or "nothing to enqueue")


def cmd_run(settings: Settings, args: argparse.Namespace) -> None:
    from engage.runner import run_dev

    run_dev(settings, host=args.host, port=args.port)


def cmd_calendar_check(settings: Settings, args: argparse.Namespace) -> None:
    from pathlib import Path

    from engage.calendar import CalendarError, load_calendar
    from engage.notices.period import calendar_path

    path = Path(args.file) if args.file else calendar_path(settings)
    try:
        calendar = load_calendar(path, settings.tz)
    except CalendarError as error:
        raise CommandFailed(str(error)) from None
    years = ", ".join(str(y) for y in sorted(calendar.years))
    print(
        f"{path.name}: covers {years}; {len(calendar.holidays)} holidays, {len(calendar.workdays)} swapped working days"
    )


def cmd_panel(settings: Settings | None, args: argparse.Namespace) -> None:
    """Listed for `engage --help`; `main` hands `engage panel ...` to the lottery's own parser."""


PANEL_COMMANDS = {"select": "main_select", "verify": "main_verify"}


def _panel(argv: list[str]) -> int:
    # The lottery commands work on files alone (an auditor needs no database or settings) and parse
    # their own arguments, so they skip the settings entirely.
    from engage.lottery import cli as lottery_cli

    entry: Callable[[list[str]], int] = getattr(lottery_cli, PANEL_COMMANDS[argv[0]])
    return entry(argv[1:])


Handler = Callable[[Settings, argparse.Namespace], None]
Configure = Callable[[argparse.ArgumentParser], object]


def _default_port() -> int:
    import os

    value = os.environ.get("PORT", "8000")
    return int(value) if value.isdigit() else 8000


def _host_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=_default_port(), help="default: $PORT or 8000")


def _serve(parser: argparse.ArgumentParser) -> None:
    import os

    _host_port(parser)
    value = os.environ.get("WEB_CONCURRENCY", "1")
    parser.add_argument(
        "--workers",
        type=_positive,
        default=int(value) if value.isdigit() and int(value) > 0 else 1,
        help="web processes on this port (default: $WEB_CONCURRENCY or 1; about one per core)",
    )


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {value!r}")
    return int(value)


def _email(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email")


def _organizer_create(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email")
    parser.add_argument("--role", required=True, help="admin, organizer or auditor")


def _token_create(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email")
    parser.add_argument("--scope", default="write", help="read (GET only) or write (default)")
    parser.add_argument(
        "--days", type=int, default=90, help="days until it expires (default 90, at most 366)"
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="texts caused by this token's requests are recorded (status sandbox), never sent",
    )


def _sms_send(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("to", help="phone number, e.g. 138 0013 8000")
    parser.add_argument("body")


# Every command, in the order `engage --help` lists them: (words, one-line summary, handler, arguments).
COMMANDS: list[tuple[tuple[str, ...], str, Handler, Configure | None]] = [
    (("run",), "Development: migrate, seed, start Redis, a worker and the web server", cmd_run, _host_port),
    (("serve",), "Serve the web app (Procfile: web)", cmd_serve, _serve),
    (
        ("worker",),
        "Run an rq worker for the SMS and background queues (Procfile: worker)",
        cmd_worker,
        lambda p: p.add_argument("--burst", action="store_true", help="exit when the queues are empty"),
    ),
    (
        ("db", "upgrade"),
        "Apply database migrations (Procfile: release)",
        cmd_db_upgrade,
        lambda p: p.add_argument("revision", nargs="?", default="head"),
    ),
    (
        ("db", "downgrade"),
        "Revert database migrations to REVISION",
        cmd_db_downgrade,
        lambda p: p.add_argument("revision"),
    ),
    (
        ("organizer", "create"),
        "Create an organizer; prints a generated password",
        cmd_organizer_create,
        _organizer_create,
    ),
    (
        ("organizer", "password"),
        "Give an organizer a new generated password and print it",
        cmd_organizer_password,
        _email,
    ),
    (
        ("organizer", "disable"),
        "Disable an organizer: every session and token ends on its next request",
        cmd_organizer_disable,
        _email,
    ),
    (
        ("organizer", "enable"),
        "Let a disabled organizer sign in again (ended sessions and tokens stay ended)",
        cmd_organizer_enable,
        _email,
    ),
    (
        ("organizer", "totp-reset"),
        "Remove an organizer's second factor (a lost phone) and end their sessions; audited",
        cmd_organizer_totp_reset,
        _email,
    ),
    (
        ("token", "create"),
        "Print a new bearer token for the JSON API under /api/v1",
        cmd_token_create,
        _token_create,
    ),
    (
        ("token", "list"),
        "List API tokens (id, organizer, scope, state, dates), never the tokens themselves",
        cmd_token_list,
        lambda p: p.add_argument("email", nargs="?", help="only this organizer's"),
    ),
    (
        ("token", "revoke"),
        "Revoke one API token by its id (see token list): refused from the next request",
        cmd_token_revoke,
        lambda p: p.add_argument("id", type=int),
    ),
    (
        ("audit", "verify"),
        "Recompute the audit hash chain; exit 1 naming the first broken entry",
        cmd_audit_verify,
        None,
    ),
    (("sms", "send"), "Queue one SMS through the configured gateway", cmd_sms_send, _sms_send),
    (
        ("privacy", "report"),
        "List what is held about a phone number (rows per table; counts only)",
        cmd_privacy_report,
        lambda p: p.add_argument("phone"),
    ),
    (
        ("privacy", "purge"),
        "Remove what is past its retention period (RETAIN_* settings; workers run this daily)",
        cmd_privacy_purge,
        None,
    ),
    (
        ("sweep",),
        "Enqueue the work the database says is due and no job covers (workers run this by themselves)",
        cmd_sweep,
        None,
    ),
    (
        ("panel", "select"),
        "Draw a panel by a fair lottery from respondent and quota CSV files (--help for the options)",
        cmd_panel,
        None,
    ),
    (
        ("panel", "verify"),
        "Replay a draw record against the respondents file; exit 1 naming the first mismatch",
        cmd_panel,
        None,
    ),
    (
        ("calendar", "check"),
        "Validate a working-day calendar file (default: the one in use); exit 1 naming the bad line",
        cmd_calendar_check,
        lambda p: p.add_argument("file", nargs="?", help="a CSV of date,kind,name lines"),
    ),
    (
        ("seed",),
        "Seed the demo district (once; later runs change nothing)",
        cmd_seed,
        lambda p: p.add_argument("--residents", type=int, default=300),
    ),
]
GROUPS = {
    "db": "Database migrations",
    "organizer": "Organizer accounts",
    "token": "API tokens",
    "audit": "The audit log",
    "sms": "Text messages",
    "privacy": "Personal data",
    "panel": "Grand-jury lotteries",
    "calendar": "The working-day calendar of notice periods",
}


def build_parser() -> argparse.ArgumentParser:
    width = max(len(" ".join(words)) for words, *_ in COMMANDS) + 2
    listing = "\n".join(f"  engage {' '.join(words):<{width}}{summary}" for words, summary, *_ in COMMANDS)
    parser = argparse.ArgumentParser(
        prog="engage",
        usage="engage COMMAND [ARGS]  (engage COMMAND --help for its arguments)",
        description="Engage: public participation in appointments.",
        epilog=f"commands:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top = parser.add_subparsers(metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}  # type: ignore[type-arg]
    for words, summary, handler, configure in COMMANDS:
        parent = top
        if len(words) == 2:
            if words[0] not in groups:
                group = top.add_parser(words[0], help=GROUPS[words[0]], description=GROUPS[words[0]])
                groups[words[0]] = group.add_subparsers(metavar="COMMAND", required=True)
            parent = groups[words[0]]
        command = parent.add_parser(words[-1], help=summary, description=summary)
        command.set_defaults(handler=handler)
        if configure:
            configure(command)
    top.help = argparse.SUPPRESS
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if len(words) >= 2 and words[0] == "panel" and words[1] in PANEL_COMMANDS:
        return _panel(words[1:])
    args = build_parser().parse_args(words)
    try:
        settings = load_settings()
        args.handler(settings, args)
    except ConfigError as error:
        return _fail(f"configuration: {error}", USAGE_ERROR)
    except EngageError as error:
        return _fail(str(error), USAGE_ERROR)
    except CommandFailed as error:
        return _fail(str(error), 1)
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else "unreachable"
        return _fail(f"database: {reason}", 1)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
