"""The one driver behind OrchestratorDB and AsyncOrchestratorDB: how an operation is run.

An operation (adw_db_operations.py) is a generator of SQL steps. Running it means: validate up
to its first step without any lock, take the connection's lock, open a write transaction,
send each step's result in (or throw its error in, as IntegrityViolation or InvalidInput),
commit, roll back on failure and run a write again after a lost deadlock. That logic is
written once here, as a *plan*: a generator of actions (`lock`, `unlock`, `sql`, `step`,
`rollback`). The sync and async classes differ only in how they perform an action
(`run_plan` with a function, `run_plan_async` with a coroutine function).

The operation methods of both classes come from one table (`Operations`): each entry is an
`operation()` descriptor that gives the sync class a method returning the result and the async
class a coroutine method, with the operation's own name, docstring and signature.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, TypeVar, overload

from . import adw_db_operations as ops
from .adw_db_dialect import Dialect, IntegrityViolation
from .orch_database_types import InvalidInput, OrchestratorError

if TYPE_CHECKING:
    from .adw_database import OrchestratorDB
    from .adw_db_async import AsyncOrchestratorDB

T = TypeVar("T")
P = ParamSpec("P")
WRITE_RETRIES = 3

ActionKind = Literal["lock", "unlock", "sql", "step", "rollback"]
Action = tuple[ActionKind, Any]
Plan = Generator[Action, Any, T]
LOCK: Action = ("lock", None)
UNLOCK: Action = ("unlock", None)
ROLLBACK: Action = ("rollback", None)


# -- one step ---------------------------------------------------------------------------------


def execute_step(conn: Any, step: ops.Step, dialect: Dialect) -> Any:
    """Run one step on a DB-API connection (sqlite3, psycopg)."""
    mode, sql, params = step
    sql = dialect.translate(sql)
    if mode == "many":
        many = conn.cursor()
        many.executemany(sql, params)
        return many.rowcount
    cursor = conn.execute(sql, params)
    if mode == "exec":
        return cursor.rowcount
    if mode == "one":
        return cursor.fetchone()
    return cursor.fetchall()


async def execute_step_async(conn: Any, step: ops.Step, dialect: Dialect) -> Any:
    """Run one step on an async connection (aiosqlite, psycopg's AsyncConnection)."""
    mode, sql, params = step
    sql = dialect.translate(sql)
    if mode == "many":
        if hasattr(conn, "executemany"):  # aiosqlite; psycopg has it on its cursors
            cursor = await conn.executemany(sql, params)
        else:
            cursor = conn.cursor()
            await cursor.executemany(sql, params)
        return cursor.rowcount
    cursor = await conn.execute(sql, params)
    if mode == "exec":
        return cursor.rowcount
    if mode == "one":
        return await cursor.fetchone()
    return await cursor.fetchall()


# -- plans: the logic shared by both drivers --------------------------------------------------


def first_step(op: ops.Op[T]) -> tuple[ops.Step | None, T | None]:
    """Run an operation up to its first SQL step: validation, ids and JSON need no lock."""
    try:
        return op.send(None), None
    except StopIteration as stop:
        return None, stop.value


def resume(
    op: ops.Op[T],
    value: Any,
    error: BaseException | None,
    cause: BaseException | None,
    dialect: Dialect,
) -> ops.Step:
    """Send a step's result into an operation, or throw its error in; return the next step.

    An integrity error goes in as IntegrityViolation; if the operation does not catch it,
    the engine's original exception (`cause`) is raised instead."""
    if error is None:
        return op.send(value)
    try:
        step = op.throw(error)
    except IntegrityViolation as violation:
        if violation is error and cause is not None:
            raise cause from None
        raise
    if dialect.aborts_on_error:
        op.close()
        raise OrchestratorError(
            f"an operation went on after a database error ({error}), but {dialect.name} "
            "refuses every statement of a transaction after an error"
        )
    return step


def engine_error(
    exc: BaseException, dialect: Dialect
) -> tuple[BaseException, BaseException | None]:
    """(what to throw into the operation, the engine error behind it) for a failed step:
    refused input as InvalidInput, integrity errors as IntegrityViolation, others as they are."""
    reason = dialect.refused_input(exc)
    if reason is not None:
        return InvalidInput(reason), None
    return dialect.classify(exc) or exc, exc


def steps(op: ops.Op[T], first: ops.Step, dialect: Dialect) -> Plan[T]:
    """Yield the operation's steps, sending results in and throwing database errors back."""
    value: Any = None
    error: BaseException | None = None
    cause: BaseException | None = None
    step: ops.Step | None = first
    while True:
        if step is None:
            try:
                step = resume(op, value, error, cause, dialect)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
        error = cause = None
        try:
            value = yield ("step", step)
        except dialect.errors as exc:
            value = None
            error, cause = engine_error(exc, dialect)
        step = None


def read_plan(op: ops.Op[T], dialect: Dialect) -> Plan[T]:
    """An operation run under the connection's lock, without a write transaction."""
    first, done = first_step(op)
    if first is None:
        return done  # type: ignore[return-value]
    yield LOCK
    try:
        return (yield from steps(op, first, dialect))
    finally:
        yield UNLOCK


def write_plan(
    op: ops.Op[T],
    again: Callable[[], ops.Op[T]] | None,
    dialect: Dialect,
    in_transaction: Callable[[], bool],
) -> Plan[T]:
    """An operation run in one write transaction; `again` builds a fresh operation for a
    retry after a lost deadlock or serialization check (up to WRITE_RETRIES times)."""
    attempt = 0
    while True:
        first, done = first_step(op)
        if first is None:
            return done  # type: ignore[return-value]
        yield LOCK
        try:
            refuse_nested_write(in_transaction())
            yield ("sql", dialect.begin_write)
            try:
                result = yield from steps(op, first, dialect)
                yield ("sql", "COMMIT")
                return result
            except BaseException as exc:
                yield ROLLBACK
                if again is None or attempt >= WRITE_RETRIES or not dialect.retryable(exc):
                    raise
        finally:
            yield UNLOCK
        attempt += 1
        op = again()


def locked_plan(in_transaction: Callable[[], bool] | None, *actions: Action) -> Plan[None]:
    """Actions under the connection's lock (a snapshot's BEGIN, VACUUM); given
    `in_transaction`, refused inside snapshot() like a write."""
    yield LOCK
    try:
        if in_transaction is not None:
            refuse_nested_write(in_transaction())
        for action in actions:  # noqa: UP028 - `yield from` a tuple cannot take the replies
            yield action
    finally:
        yield UNLOCK


def refuse_nested_write(in_transaction: bool) -> None:
    """A write inside snapshot() would end the snapshot (PostgreSQL ignores the nested BEGIN,
    and the rollback after a failure takes the snapshot's transaction with it)."""
    if in_transaction:
        raise OrchestratorError(
            "a write or VACUUM cannot run inside snapshot() (a read-only, consistent view); "
            "run it after the with-block"
        )


# -- the two ways of performing a plan --------------------------------------------------------


def run_plan(plan: Plan[T], perform: Callable[[Action], Any]) -> T:
    """Perform each action of a plan, sending its result in or throwing its error in."""
    reply: Any = None
    failure: BaseException | None = None
    while True:
        try:
            action = plan.send(reply) if failure is None else plan.throw(failure)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        failure = None
        try:
            reply = perform(action)
        except BaseException as exc:  # thrown into the plan, which rolls back and unlocks
            reply, failure = None, exc


async def run_plan_async(plan: Plan[T], perform: Callable[[Action], Awaitable[Any]]) -> T:
    """run_plan() with a coroutine performing each action."""
    reply: Any = None
    failure: BaseException | None = None
    while True:
        try:
            action = plan.send(reply) if failure is None else plan.throw(failure)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        failure = None
        try:
            reply = await perform(action)
        except BaseException as exc:
            reply, failure = None, exc


# -- the method table -------------------------------------------------------------------------


def replayable(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Arguments a retried write can use again: a one-shot iterator (a generator of log
    entries) becomes a list, or the retry would see it empty and commit nothing."""

    def keep(value: Any) -> Any:
        return list(value) if isinstance(value, Iterator) else value

    return tuple(keep(a) for a in args), {k: keep(v) for k, v in kwargs.items()}


def named_like(method: Any, operation: Callable[..., Any]) -> Any:
    """Give a generated method the operation's name, docstring and signature (plus self), so
    help() and IDEs show the real parameters. (Not __wrapped__: inspect would then drop the
    operation's first parameter on bound methods.)"""
    method.__name__ = operation.__name__
    method.__qualname__ = operation.__qualname__
    method.__doc__ = operation.__doc__
    signature = inspect.signature(operation)
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = signature.replace(
        parameters=[self_param, *signature.parameters.values()]
    )
    return method


class operation(Generic[P, T]):
    """An operation as a method of both classes: `reads` runs it without a write transaction,
    `writes` in one (retried with its arguments made replayable)."""

    def __init__(self, op: Callable[P, ops.Op[T]], *, writes: bool) -> None:
        self.op = op
        self.writes = writes

        def sync_method(db: OrchestratorDB, /, *args: Any, **kwargs: Any) -> Any:
            return self.run(db, args, kwargs)

        async def async_method(db: AsyncOrchestratorDB, /, *args: Any, **kwargs: Any) -> Any:
            return await self.run(db, args, kwargs)

        self.sync_method = named_like(sync_method, op)
        self.async_method = named_like(async_method, op)

    def run(self, db: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The result (sync) or an awaitable of it (async): `db._read`/`db._write` decide."""
        if not self.writes:
            return db._read(self.op(*args, **kwargs))
        args, kwargs = replayable(args, kwargs)
        return db._write(self.op(*args, **kwargs), lambda: self.op(*args, **kwargs))

    @overload
    def __get__(self, db: None, owner: type) -> Callable[..., Any]: ...
    @overload
    def __get__(self, db: OrchestratorDB, owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, db: AsyncOrchestratorDB, owner: type
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, db: Any, owner: type) -> Any:
        method = self.async_method if getattr(owner, "asynchronous", False) else self.sync_method
        return method if db is None else method.__get__(db, owner)


def reads(op: Callable[P, ops.Op[T]]) -> operation[P, T]:
    return operation(op, writes=False)


def writes(op: Callable[P, ops.Op[T]]) -> operation[P, T]:
    return operation(op, writes=True)
