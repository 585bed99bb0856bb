"""The pool's pure choices: which member gets a job, and whose job a remote id is."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from imagen_tui.backends.adapters.pool import (
    MemberLoad,
    PoolBackend,
    pick_member,
    split_remote_id,
)


def test_the_least_busy_member_wins_and_ties_go_to_the_first_listed() -> None:
    loads = [MemberLoad("gpu1", 2), MemberLoad("gpu2", 0), MemberLoad("gpu3", 0)]
    assert pick_member(loads, {}) == "gpu2"
    assert pick_member([MemberLoad("a", 1), MemberLoad("b", 1)], {}) == "a"


def test_jobs_we_sent_count_when_the_host_cannot_see_them() -> None:
    # A1111 reports 1 while three of our requests wait on its lock.
    loads = [MemberLoad("gpu1", 1), MemberLoad("gpu2", 2)]
    assert pick_member(loads, {"gpu1": 3}) == "gpu2"
    assert pick_member(loads, {"gpu1": 1}) == "gpu1"  # ours is the one it runs: no double count


def test_down_members_are_never_chosen() -> None:
    loads = [MemberLoad("gpu1", None, "refused"), MemberLoad("gpu2", 9)]
    assert pick_member(loads, {}) == "gpu2"
    assert pick_member([MemberLoad("gpu1", None, "refused")], {}) is None
    assert pick_member([], {}) is None


@pytest.mark.parametrize(
    ("remote_id", "expected"),
    [
        ("gpu1:abc", ("gpu1", "abc")),
        ("gpu1:a:b", ("gpu1", "a:b")),
        ("gpu9:abc", None),
        ("gpu1:", None),
        ("", None),
    ],
)
def test_remote_ids_name_their_member(remote_id: str, expected: tuple[str, str] | None) -> None:
    assert split_remote_id(remote_id, ["gpu1", "gpu2"]) == expected


@pytest.mark.parametrize(
    ("members", "words"),
    [(["a:b"], "cannot hold ':'"), (["a", "a"], "listed once"), ([], "at least 1")],
)
def test_member_lists_are_checked(members: list[str], words: str) -> None:
    with pytest.raises(ValidationError) as info:
        PoolBackend.parse_options({"members": members})
    assert words in str(info.value)
