"""The README stays true: every error code the server can answer and every setting it reads
is documented there."""

from __future__ import annotations

import re
from pathlib import Path

from thumbs.config import Settings
from thumbs.kit import errors as E

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_error_code_is_in_the_readme_table_with_its_status() -> None:
    documented = {
        int(code): int(status)
        for code, status in re.findall(r"^\| (\d{5}) \| (\d{3}) \|", README, flags=re.MULTILINE)
    }
    served = {code: entry.status for code, entry in E.catalogue().items()}
    assert documented == served


def test_every_setting_is_in_the_configuration_table() -> None:
    documented = set(re.findall(r"`(THUMBS_[A-Z_]+)`", README))
    settings = {f"THUMBS_{name.upper()}" for name in Settings.model_fields}
    assert settings - documented == set()
