"""Chinese text uses full-width punctuation: "本周：日志 5 篇，走访 9 户", never "本周:日志 5 篇,走访 9 户"."""
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "app" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"

HAN = re.compile(r"[\u3400-\u9fff]")
HALF_WIDTH = re.compile(r"[:,;?!]")
# What may keep its half-width marks inside a Chinese string: placeholders, markup, addresses and clock times.
NOT_PROSE = re.compile(r"%\([^)]*\)[sd]|\{[^}]*\}|<[^>]+>|&\w+;|https?://\S+|(?<=\d):(?=\d)")
SOURCES = ("app/**/*.py", "app/**/*.js", "sync/**/*.py", "templates/**/*.html")


def half_width_marks(text: str) -> list[str]:
    """The half-width marks in a text that contains Chinese, outside placeholders, markup and clock times."""
    prose = NOT_PROSE.sub("", text)
    return HALF_WIDTH.findall(prose) if HAN.search(prose) else []


@pytest.mark.parametrize("text, marks", [
    ("周一:本周安排", [":"]),
    ("本周：日志 5 篇,走访 9 户", [","]),
    ("为什么要重新打开?", ["?"]),
    ("%(date)s 议事亭会议：%(topic)s", []),
    ("上次同步：12月2日 15:05", []),
    ("Replying to %(name)s: “%(text)s”", []),
])
def test_the_rule_tells_half_width_marks_beside_chinese(text, marks):
    assert half_width_marks(text) == marks


def test_every_chinese_translation_uses_full_width_punctuation():
    catalog = read_po(CATALOG.open("rb"))
    wrong = [(m.id, form) for m in catalog if m.id
             for form in (m.string if isinstance(m.string, tuple) else (m.string,)) if half_width_marks(form or "")]
    assert wrong == []


def marks_beside_chinese(text: str) -> list[str]:
    """Half-width marks touching a Chinese character with no space after them: an English sentence that lists
    Chinese terms ("the columns: 编码, 事项名称") keeps its commas and colons."""
    return re.findall(r"(?<=[\u3400-\u9fff])[:,;?!](?! )|(?<! )[:,;?!](?=[\u3400-\u9fff])", text)


@pytest.mark.parametrize("line, marks", [
    ('"description": "驻村第一书记的工作日志,离线可用"', [","]),
    ("周一:本周安排", [":"]),
    ("The first row names the columns: 编码, 事项名称, 依据", []),
])
def test_the_code_rule_tells_chinese_punctuation_from_english_lists(line, marks):
    assert marks_beside_chinese(line) == marks


def test_chinese_written_in_the_code_uses_full_width_punctuation():
    """Chinese literals outside the catalog (demo data, the manifest, docs strings in the API description)."""
    wrong = []
    for pattern in SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if marks_beside_chinese(line):
                    wrong.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert wrong == []
