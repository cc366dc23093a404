"""Domain errors carrying their HTTP status; one handler in ketaflow.web renders them.

Messages must never include identifiable patient values: name the field and the limit instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import NamedTuple, ParamSpec, TypeVar, cast

T = TypeVar("T")
P = ParamSpec("P")


class FieldProblem(NamedTuple):
    """One refused input: the field's name (None for the form as a whole) and a message that
    names it as its label reads."""

    field: str | None
    detail: str


class KetaflowError(Exception):
    status_code = 400
    title = "Bad request"
    # Most refusals undo the request's changes. A few must keep what was written before the
    # refusal (e.g. a failed password check, so the throttle and the audit see it).
    keep_changes = False

    def __init__(
        self, detail: str, *, field: str | None = None, problems: Sequence[FieldProblem] = ()
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        # Every problem found, so a form can mark each field at once; a single refusal is a
        # list of one (the old single-error path keeps working unchanged).
        self.problems: list[FieldProblem] = list(problems) or [FieldProblem(field, detail)]


class ValidationFailed(KetaflowError):
    status_code = 422
    title = "Invalid input"

    @classmethod
    def of(cls, problems: Sequence[FieldProblem]) -> ValidationFailed:
        """One refusal listing several problems; `field` and the first line name the first."""
        if not problems:
            raise ValueError("ValidationFailed.of needs at least one problem")
        detail = "; ".join(p.detail for p in problems)
        return cls(detail, field=problems[0].field, problems=problems)


class NotFound(KetaflowError):
    status_code = 404
    title = "Not found"


class Conflict(KetaflowError):
    status_code = 409
    title = "Conflict"


class AuthenticationFailed(KetaflowError):
    status_code = 401
    title = "Authentication required"


class PermissionDenied(KetaflowError):
    status_code = 403
    title = "Forbidden"


class TooManyAttempts(KetaflowError):
    status_code = 429
    title = "Too many attempts"


class ServiceBusy(KetaflowError):
    """Too much waiting already (a bounded queue is full): try again shortly (503)."""

    status_code = 503
    title = "Busy"


class ProblemCollector:
    """Gathers field problems while a form (or a record) is checked; see `collect_problems`."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def __call__(self, parse: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`parse(*args, **kwargs)`, or, if it refuses, the refusal noted and None returned.

        The None stands in only until the block ends: the block then raises with every
        problem, so a placeholder never reaches a service (hence the return type is T)."""
        try:
            return parse(*args, **kwargs)
        except ValidationFailed as exc:
            self.add_all(exc.problems)
            return cast(T, None)

    def add(self, field: str | None, detail: str) -> None:
        if FieldProblem(field, detail) not in self.problems:
            self.problems.append(FieldProblem(field, detail))

    def add_all(self, problems: list[FieldProblem]) -> None:
        for problem in problems:
            self.add(problem.field, problem.detail)

    def require(self, form: Mapping[str, str], name: str, label: str) -> str:
        """The field's text, noting "<label> is required" when it is empty."""
        value = form.get(name, "")
        if not value:
            self.add(name, f"{label} is required")
        return value


@contextmanager
def collect_problems() -> Iterator[ProblemCollector]:
    """Read a form's fields with every parse wrapped in the collector, then raise once.

        with collect_problems() as check:
            weight = check(optional_number, form, "weight", "Weight")
            height = check(optional_number, form, "height", "Height")

    At the end of the block a single ValidationFailed lists every problem found (422). A
    refusal raised directly inside the block joins those already found; once a field has
    failed, anything else failing in the block is taken as a consequence of its placeholder.
    """
    found = ProblemCollector()
    try:
        yield found
    except ValidationFailed as exc:
        found.add_all(exc.problems)
    except KetaflowError:
        if not found.problems:
            raise
    except (TypeError, ValueError, AttributeError):
        if not found.problems:
            raise
    if found.problems:
        raise ValidationFailed.of(found.problems)
