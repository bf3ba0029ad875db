"""Derived ids are stable: an import run again (by any version) must find the rows it wrote,
so the same names and time give the same id, character for character."""

from __future__ import annotations

from datetime import datetime

from thumbs.kit import ids


def test_a_derived_id_is_the_same_for_the_same_names_and_time() -> None:
    names = ("ACx", "aia_asst_y", "id:z")
    assert (
        ids.derived_id(ids.FEEDBACK, *names, at=datetime(2026, 3, 4, 5, 6, 7, 891011))
        == "aia_fdbk_019cb73d-3593-7475-b603-a031f36d6dee"
    )
    assert (
        ids.derived_id(ids.FEEDBACK, *names, at=datetime(1999, 12, 31, 23, 59, 59, 999999))
        == "aia_fdbk_00dc6acf-abff-7475-b603-a031f36d6dee"
    )
    assert ids.derived_id(ids.FEEDBACK, *names) == "aia_fdbk_0822c0c1-fa0a-8475-b603-a031f36d6dee"
