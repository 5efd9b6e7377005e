"""Between-person arms: which arm each new participant (or group) is in, at enrolment.

The protocol's `study.arms` names the arms and how participants get one:

* `assign: csv`: the participants CSV's `arm` column, required on every row
  (`csv_import` checks it);
* `assign: balanced` (the default): eas assigns, by seeded permuted blocks within strata. The
  stratum is the value of the `stratify_by` column (required on every row then; one stratum
  without it). The k-th assignment of a stratum (k from 0) takes place k mod n of block
  k // n, n arms, whose order is a permutation of the arms drawn from
  `random.Random(derive_seed(seed, stratum, block))`. So every block of n assignments of a
  stratum holds each arm once, and the same seed, strata and order of enrolment give the same
  arms. k counts the units of the study already assigned in the stratum (any state: a
  withdrawal leaves its place taken), so enrolling people one by one or in one file is the same.

Members of one `group` (couples, families) share one arm: the group is the unit of
randomisation. Its first member's enrolment assigns it (in that member's stratum); later
members take it, and must have the same stratum value (or, with `assign: csv`, the same arm).

Enrolments of one study wait for each other while they count and assign (`lock_enrolments`),
so two at once never take the same place of a block.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from eas.core.db import db
from eas.participants.csv_import import ParticipantRow, RowError
from eas.participants.models import Participant, ParticipantGroup
from eas.scheduling.planner import derive_seed

if TYPE_CHECKING:
    from eas.studies.models import Study


def arms_of(definition: dict[str, Any]) -> dict[str, Any] | None:
    """The protocol's `study.arms` (names, assign, seed, stratify_by), or None."""
    return definition["study"].get("arms")


def balanced_arm(names: list[str], seed: int, stratum: str | None, k: int) -> str:
    """The arm of the k-th assignment (from 0) in `stratum` (None: the only one): place
    k mod n of block k // n, whose order is a seeded permutation of `names`."""
    block, place = divmod(k, len(names))
    order = list(names)
    random.Random(derive_seed(seed, stratum or "", block)).shuffle(order)
    return order[place]


def lock_enrolments(study: Study) -> None:
    """Make enrolments of the study wait for each other until this transaction ends, from
    before they read who is enrolled: the count of units already assigned (balanced arms) and
    a group's arm must not change under them. Only in studies with arms.

    PostgreSQL: a transaction-level advisory lock of the study's own, rather than a lock on
    the study's row, which alert numbering takes (participant first, then study): a large
    import holding it would hold up safety alerts, and could deadlock with them over a group
    member's prompts. SQLite: enrolling transactions are writers (`begin_write`), one at a time.
    """
    if arms_of(study.current_version.definition) is None:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        key = derive_seed("eas.participants.arms", study.id)  # 63 bits: a bigint
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.cast(key, sa.BigInteger))))


@dataclass(frozen=True)
class Assigned:
    arm: str | None = None
    #: The stratify_by column's value the arm was balanced within.
    stratum: str | None = None


@dataclass(frozen=True)
class _Unit:
    """A group's arm and stratum, and where they come from (for errors)."""

    arm: str
    stratum: str | None
    source: str  # "line 4", "as enrolled"


def _enrolled_groups(study: Study) -> dict[str, _Unit]:
    """The arm and stratum of each group of the study that has them (its first member's)."""
    found: dict[str, _Unit] = {}
    rows = db.session.execute(
        sa.select(ParticipantGroup.label, Participant.arm, Participant.arm_stratum)
        .join(Participant, Participant.group_id == ParticipantGroup.id)
        .where(ParticipantGroup.study_id == study.id, Participant.arm.is_not(None))
        .order_by(Participant.id)
    )
    for label, arm, stratum in rows:
        found.setdefault(label, _Unit(arm, stratum, "as enrolled"))
    return found


def _units_assigned(study: Study) -> dict[str | None, int]:
    """Per stratum, the units already given an arm: participants without a group, and groups."""
    alone = sa.func.count(sa.case((Participant.group_id.is_(None), Participant.id)))
    groups = sa.func.count(sa.distinct(Participant.group_id))
    rows = db.session.execute(
        sa.select(Participant.arm_stratum, alone, groups)
        .where(Participant.study_id == study.id, Participant.arm.is_not(None))
        .group_by(Participant.arm_stratum)
    )
    return {stratum: singles + grouped for stratum, singles, grouped in rows}


def assign_arms(study: Study, rows: list[ParticipantRow]) -> tuple[list[Assigned], list[RowError]]:
    """Each new row's arm and stratum, in file order, and the rows whose group disagrees (a
    member's stratum or CSV arm unlike the group's). Call `lock_enrolments` first."""
    spec = arms_of(study.current_version.definition)
    if spec is None or not rows:
        return [Assigned() for _ in rows], []
    balanced = spec["assign"] == "balanced"
    column = spec.get("stratify_by") if balanced else None
    groups = _enrolled_groups(study) if any(row.group for row in rows) else {}
    assigned_so_far: dict[str | None, int] | None = None
    assigned: list[Assigned] = []
    errors: list[RowError] = []
    for row in rows:
        stratum = row.stratum if column else None
        unit = groups.get(row.group) if row.group else None
        if unit is not None:
            if column and stratum != unit.stratum:
                errors.append(
                    RowError(
                        row.line,
                        column,
                        f"group {row.group} is randomised as one unit, within {column} "
                        f"'{unit.stratum}' ({unit.source}): its members must have the same "
                        f"{column}",
                    )
                )
            elif not balanced and row.arm != unit.arm:
                errors.append(
                    RowError(
                        row.line,
                        "arm",
                        f"group {row.group} is in arm {unit.arm} ({unit.source}): the members "
                        "of a group share their arm",
                    )
                )
            assigned.append(Assigned(unit.arm, stratum))
            continue
        if balanced:
            if assigned_so_far is None:
                assigned_so_far = _units_assigned(study)
            k = assigned_so_far.get(stratum, 0)
            assigned_so_far[stratum] = k + 1
            arm = balanced_arm(spec["names"], spec["seed"], stratum, k)
        else:
            arm = row.arm
        if row.group:
            groups[row.group] = _Unit(arm, stratum, f"line {row.line}")
        assigned.append(Assigned(arm, stratum))
    return assigned, errors
