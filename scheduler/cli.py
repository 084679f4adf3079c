"""The scheduler's `livehost` sub-commands: `scheduler` and `worker`.

livehost/cli.py registers them with add_commands() and hands the parsed arguments to run().
Settings come from the environment (DATABASE_URL, REDIS_URL, LIVEHOST_*). Every failure a user can
cause (a bad setting, an unreachable server) is one line on stderr and exit code 2."""
from __future__ import annotations

import signal

from db.commands import CliError, check_redis, positive, ready_schema, run_command


def add_commands(sub) -> None:
    """Add the scheduler's sub-commands to the `livehost` parser's sub-parsers."""
    sc = sub.add_parser("scheduler", help="start scheduled lives on time, stop them at their end, restart the "
                                          "lives of dead workers (DATABASE_URL, REDIS_URL)")
    sc.add_argument("--interval", type=float, default=1.0, metavar="SECONDS", help="seconds between passes")
    sc.add_argument("--once", action="store_true", help="one pass, then exit")
    w = sub.add_parser("worker", help="run lives from the queue, up to --slots at once, sharing loaded models")
    w.add_argument("--slots", type=positive, default=1, metavar="N", help="lives at once (default 1)")
    w.add_argument("--name", help="worker name (default: host-pid)")


def run(args) -> int:
    """Run a parsed scheduler sub-command; the process exit code."""
    return run_command(args, lambda: scheduler(args) if args.command == "scheduler" else worker(args))


def _dispatch_settings():
    # the scheduler's modules (Celery, and for `worker` the whole live) load only once a command runs
    from scheduler.dispatch import DispatchError, DispatchSettings

    try:
        settings = DispatchSettings.from_env()
    except DispatchError as e:
        raise CliError(str(e)) from None
    ready_schema(settings.database_url)
    check_redis(settings.redis_url)
    return settings


def scheduler(args) -> int:
    from scheduler.dispatch import Scheduler

    settings = _dispatch_settings()
    sched = Scheduler(settings.replace(interval_s=args.interval))
    if args.once:
        print(sched.tick())
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sched.stop())
    try:
        sched.run()
    finally:
        sched.close()
    return 0


def worker(args) -> int:
    from scheduler.worker import run_worker

    return run_worker(args.slots, args.name, _dispatch_settings())
