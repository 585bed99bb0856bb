"""Search in every language: CJK substrings, literals like C++, field filters, refusals."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from imagen_tui.backends import StoreError
from imagen_tui.backends.store import query_sql
from imagen_tui.backends.store.history import HistoryStore
from imagen_tui.backends.store.index import Index
from imagen_tui.backends.store.query import Kind, Term, parse_query
from tests.unit.test_index import sidecar, write_image

JAPANESE = "白い猫が雪の中を歩く"
CHINESE = "一只橘猫在窗台上睡觉"


@pytest.fixture
def index(tmp_path: Path):
    with Index.open(tmp_path / "state" / "index.sqlite3", tmp_path / "images") as idx:
        yield idx


def add(index: Index, prompt: str, n: int, **extra: object) -> None:
    out = index.output_dir
    index.add_image(write_image(out, f"{n}.png", None), sidecar(prompt, n, **extra))


def found(index: Index, query: str) -> list[str]:
    rows = index.search(query)
    assert index.count(query) == len(rows)
    return [row.prompt for row in rows]


@pytest.fixture
def cjk(index: Index) -> Index:
    add(index, JAPANESE, 1)
    add(index, CHINESE, 2)
    add(index, "a white cat walking in the snow", 3)
    return index


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("猫", [CHINESE, JAPANESE]),  # one character: shorter than a trigram
        ("雪", [JAPANESE]),
        ("橘猫", [CHINESE]),  # two characters
        ("睡觉", [CHINESE]),
        ("雪の中", [JAPANESE]),  # three or more: the trigram index
        ("窗台上睡觉", [CHINESE]),
        ("猫 雪", [JAPANESE]),  # terms are ANDed, short and long alike
        ("白い猫 歩く", [JAPANESE]),
        ("犬", []),
        ("cat", ["a white cat walking in the snow"]),
    ],
)
def test_cjk_words_are_found_inside_unspaced_text(cjk: Index, query: str, want: list[str]) -> None:
    assert found(cjk, query) == want


def test_cjk_inside_our_fixture_prompt(index: Index) -> None:
    """The interop fixture `utf8-in-tEXt`: katakana next to Latin and commas."""
    add(index, "テスト, 白い猫, café", 1, negative="ぼやけた")
    assert found(index, "テスト") == ["テスト, 白い猫, café"]
    assert found(index, "cafe") == ["テスト, 白い猫, café"]  # diacritics do not matter
    assert found(index, "ぼやけ") == ["テスト, 白い猫, café"]  # the negative prompt too


def test_korean_and_thai_match_inside_words(index: Index) -> None:
    add(index, "고양이가 눈 속을 걷는다", 1)
    add(index, "แมวสีขาวเดินในหิมะ", 2)
    assert found(index, "고양이") == ["고양이가 눈 속을 걷는다"]  # the particle 가 attached
    assert found(index, "แมว") == ["แมวสีขาวเดินในหิมะ"]


def test_c_plus_plus_is_a_literal_not_every_c_word(index: Index) -> None:
    add(index, "a poster about C++ templates", 1)
    add(index, "a cat in a castle", 2)
    add(index, "C# and c sharp", 3)
    assert found(index, "C++") == ["a poster about C++ templates"]
    assert found(index, "c#") == ["C# and c sharp"]  # two characters: the instr fallback
    assert found(index, "castle") == ["a cat in a castle"]


def test_whole_words_not_substrings_for_latin(index: Index) -> None:
    add(index, "a delicate vase", 1)
    add(index, "a cat on a mat", 2)
    assert found(index, "cat mat") == ["a cat on a mat"]
    assert found(index, "cat ") == ["a cat on a mat"]  # a trailing space ends the word
    assert found(index, "deli") == ["a delicate vase"]  # the last word as typed: a prefix


def test_punctuated_literals_match_exactly(index: Index) -> None:
    add(index, "made with gpt-image-1, f/1.8", 1)
    add(index, "gpt image one", 2)
    assert found(index, "gpt-image-1") == ["made with gpt-image-1, f/1.8"]
    assert found(index, "f/1.8") == ["made with gpt-image-1, f/1.8"]
    # A phrase of words: the tokenizer sees "gpt-image-1" as the words gpt, image, 1 too.
    assert found(index, '"gpt image"') == ["gpt image one", "made with gpt-image-1, f/1.8"]


@pytest.mark.parametrize("query", ["*", "+++", "-", "( )", '"..."', "!!! ???", "„“", "、。"])
def test_punctuation_only_is_refused_with_a_hint(index: Index, query: str) -> None:
    add(index, "anything", 1)
    for call in (index.search, index.count):
        with pytest.raises(StoreError) as info:
            call(query)
        assert "search for a word (fox)" in info.value.message
        assert "\n" not in info.value.message


def test_punctuation_beside_words_is_ignored(index: Index) -> None:
    add(index, "a red fox", 1)
    assert found(index, "fox -") == ["a red fox"]
    assert parse_query("fox - *").ignored == ("-", "*")


def test_empty_query_means_everything(index: Index) -> None:
    add(index, "one", 1)
    add(index, "two", 2)
    assert found(index, "") == ["two", "one"]
    assert found(index, "   ") == ["two", "one"]


def test_negative_prompt_and_model_are_searched(index: Index) -> None:
    add(index, "castle", 1, negative="blurry, watermark", model="juggernautXL_v8")
    add(index, "lighthouse", 2, negative="", model="flux1-dev.safetensors")
    assert found(index, "watermark") == ["castle"]
    assert found(index, "juggernautXL") == ["castle"]
    assert found(index, "flux1") == ["lighthouse"]
    assert found(index, "negative:blurry") == ["castle"]
    assert found(index, "prompt:blurry") == []
    assert found(index, "prompt:castle") == ["castle"]


def test_field_filters(index: Index) -> None:
    add(index, "a fox", 1, model="SDXL-base-1.0", backend="comfy-a", seed=42)
    add(index, "a fox", 2, model="flux1-dev", backend="mock", seed=7)
    add(index, "an owl", 3, model="sdxl-turbo", backend="comfy-a", seed=42)
    assert found(index, "model:sdxl") == ["an owl", "a fox"]  # substring, any case
    assert found(index, "model:sdxl fox") == ["a fox"]
    assert found(index, "backend:MOCK") == ["a fox"]
    assert found(index, "backend:comfy") == []  # backend names are exact
    assert found(index, "seed:42") == ["an owl", "a fox"]
    assert found(index, "seed:42 backend:comfy-a owl") == ["an owl"]
    assert found(index, 'model:"flux1-dev"') == ["a fox"]


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        ("seed:abc", "seed: takes a whole number"),
        ("seed:99999999999999999999", "out of range"),
        ("model:", "model: needs a value"),
        ("backend: fox", "backend: needs a value"),
    ],
)
def test_bad_field_values_are_refused(index: Index, query: str, hint: str) -> None:
    with pytest.raises(StoreError, match=hint):
        index.search(query)


def test_unknown_fields_are_plain_text(index: Index) -> None:
    add(index, "see https://example.com/x for style:anime", 1)
    assert found(index, "style:anime") == ["see https://example.com/x for style:anime"]
    assert found(index, "https://example.com") == ["see https://example.com/x for style:anime"]


def test_parse_query_shapes() -> None:
    parsed = parse_query('Prompt:"red fox" 猫 C++ astro')
    assert parsed is not None
    assert parsed.terms == (
        Term("red fox", Kind.PHRASE, "prompt"),
        Term("猫", Kind.LITERAL),
        Term("C++", Kind.LITERAL),
        Term("astro", Kind.WORD, prefix=True),
    )
    assert parse_query('"astro"').terms == (Term("astro", Kind.WORD),)  # quoted: no prefix
    assert parse_query(None) is None
    assert parse_query("a\x00b").terms == (Term("a", Kind.WORD), Term("b", Kind.WORD, prefix=True))


def test_quotes_inside_phrases_cannot_break_the_fts_syntax(index: Index) -> None:
    add(index, 'a 5"x7" print, he said "hi"', 1)
    assert found(index, '5"x7"') == ['a 5"x7" print, he said "hi"']  # a literal with quotes
    assert found(index, 'said "hi') == ['a 5"x7" print, he said "hi"']
    with pytest.raises(StoreError):
        index.search('"""')  # quotes alone: nothing to search for


def test_without_trigram_literals_are_scanned(index: Index) -> None:
    """SQLite before 3.34 has no trigram tokenizer: the same answers, from instr()."""
    add(index, JAPANESE, 1)
    add(index, "C++ poster", 2)
    clauses, params = query_sql.where_clauses(parse_query("雪の中 C++"), trigram=False)
    assert all("images_tri" not in clause for clause in clauses)
    sql = f"SELECT prompt FROM images WHERE {' AND '.join(clauses)}"
    assert index._db.execute(sql, params).fetchall() == []
    clauses, params = query_sql.where_clauses(parse_query("雪の中"), trigram=False)
    sql = f"SELECT prompt FROM images WHERE {' AND '.join(clauses)}"
    assert index._db.execute(sql, params).fetchall() == [(JAPANESE,)]


def test_keyset_paging_with_a_query(index: Index) -> None:
    for n in range(25):
        add(index, f"猫 number {n}" if n % 2 else f"dog number {n}", n, seed=n)
    seen, after = [], None
    while True:
        rows = index.search("猫", limit=4, after=after)
        seen += [row.seed for row in rows]
        if len(rows) < 4:
            break
        after = (rows[-1].created_at, rows[-1].id)
    assert seen == list(range(23, 0, -2))
    assert index.count("猫") == 12


def test_history_store_pages_with_a_query(tmp_path: Path) -> None:
    store = HistoryStore(
        tmp_path / "images", "{slug}", index_path=tmp_path / "index.sqlite3",
        library_path=tmp_path / "library.json",
    )  # fmt: skip
    for n in range(5):
        add(store.index, f"{CHINESE} {n}", n)
    page = store.page("睡觉", limit=3)
    assert [row.prompt[-1] for row in page.rows] == ["4", "3", "2"]
    rest = store.page("睡觉", limit=3, after=page.next)
    assert [row.prompt[-1] for row in rest.rows] == ["1", "0"] and rest.next is None
    assert store.count("睡觉") == 5
    with pytest.raises(StoreError):
        store.page("+")
    store.close()


def test_old_schema_is_rebuilt_with_the_trigram_index(tmp_path: Path) -> None:
    db, out = tmp_path / "index.sqlite3", tmp_path / "images"
    write_image(out, "a.png", sidecar(JAPANESE))
    Index.open(db, out).close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.execute("DROP TABLE images_tri")
    conn.commit()
    conn.close()
    with Index.open(db, out) as index:
        assert found(index, "雪の中") == [JAPANESE]
        assert found(index, "雪") == [JAPANESE]


def test_dropped_trigram_table_is_rebuilt(tmp_path: Path) -> None:
    db, out = tmp_path / "index.sqlite3", tmp_path / "images"
    write_image(out, "a.png", sidecar(JAPANESE))
    Index.open(db, out).close()
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE images_tri")
    conn.commit()
    conn.close()
    with Index.open(db, out) as index:
        assert found(index, "白い猫") == [JAPANESE]


def test_check_query_refuses_without_opening_the_index() -> None:
    HistoryStore.check_query("猫 model:sdxl")
    HistoryStore.check_query(None)
    with pytest.raises(StoreError, match="nothing to search for"):
        HistoryStore.check_query("?!")
