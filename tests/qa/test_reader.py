"""The shipped reader: offline load, checksum, and reading a document that is in no gold set."""

from __future__ import annotations

import shutil

import pytest

from qa._reader import READER_DIR, Reader, ReaderError, read_manifest, sha256_of

# Invented for these tests; no gold set holds it.
RAILWAY = (
    "The Calder Valley Railway opened in 1874 to carry wool from the mills at Hebden to the port of "
    "Goole. The line was closed to passengers in 1962, but freight trains used it until 1981. Its chief "
    "engineer, Margaret Thorne, designed the twelve-arch viaduct at Ripley, which still stands."
)


@pytest.fixture(scope="module")
def reader() -> Reader:
    r = Reader()
    r.warm_up()
    return r


def test_shipped_reader_loads_offline_and_matches_its_card(reader):
    manifest = read_manifest()
    assert sha256_of(READER_DIR / manifest["weights"]) == manifest["sha256"]
    assert manifest["sha256"] in (READER_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert (READER_DIR / manifest["weights"]).stat().st_size <= 50 * 1024 * 1024
    assert reader.version == manifest["version"]


def test_corrupt_weights_are_a_one_line_error(tmp_path):
    folder = tmp_path / "reader"
    shutil.copytree(READER_DIR, folder)
    weights = folder / read_manifest(folder)["weights"]
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ReaderError) as err:
        Reader(folder).warm_up()
    message = str(err.value)
    assert str(weights) in message and "checksum" in message and "\n" not in message


def test_missing_manifest_is_a_one_line_error(tmp_path):
    folder = tmp_path / "reader"
    shutil.copytree(READER_DIR, folder)
    (folder / "reader.json").unlink()
    with pytest.raises(ReaderError, match=r"reader\.json: the reader's manifest is missing"):
        Reader(folder).warm_up()


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # paraphrases: few words shared with the sentence that answers them
        ("When did the railway start operating?", "1874"),
        ("Who was responsible for the engineering of the line?", "Margaret Thorne"),
        ("Until what year did goods trains run on it?", "1981"),
    ],
)
def test_paraphrased_question_gets_the_span(reader, question, answer):
    r = reader.read(question, RAILWAY)
    assert r.text == answer
    assert RAILWAY[r.start : r.end] == r.text
    # it finds the span with more confidence than it finds one for a question the text cannot answer
    miss = reader.read("How much did it cost to build the viaduct at Ripley?", RAILWAY)
    assert r.score > miss.score


@pytest.mark.xfail(
    strict=True,
    reason="[1/7] target missed: the shipped reader finds these spans but scores them under the "
    "no-answer threshold fitted on squad2 (eval/RESULTS.md, 'The reader'); remove when a retrain passes",
)
@pytest.mark.parametrize(
    "question",
    ["When did the railway start operating?", "Until what year did goods trains run on it?"],
)
def test_paraphrased_question_is_answered_at_the_fitted_threshold(reader, question):
    assert reader.read(question, RAILWAY).answerable


@pytest.mark.parametrize(
    "question",
    [
        # same topic, the detail is absent: another kind of figure, an event that never happened
        "How much did it cost to build the viaduct at Ripley?",
        "In what year was the Ripley viaduct demolished?",
    ],
)
def test_same_topic_question_without_the_detail_gets_no_answer(reader, question):
    r = reader.read(question, RAILWAY)
    assert not r.answerable, (question, r)


def test_long_passage_is_read_in_windows_and_spans_stay_exact(reader):
    filler = " ".join(f"Station {i} had a small goods yard and a signal box." for i in range(60))
    passage = filler + " " + RAILWAY
    assert len(reader.featurizer.windows("When did the railway start operating?", passage)) > 1
    r = reader.read("When did the Calder Valley Railway open?", passage)
    assert r.answerable and r.text == "1874" and passage[r.start : r.end] == "1874"


def test_read_many_scores_each_passage(reader):
    other = "Goole is a port town in the East Riding of Yorkshire, on the River Ouse."
    right, wrong = reader.read_many("Who designed the viaduct at Ripley?", [RAILWAY, other])
    assert right.answerable and right.text == "Margaret Thorne"
    assert right.score > wrong.score


def test_a_passage_reads_the_same_whatever_is_read_beside_it(reader):
    """The int8 graph scales a batch's activations together; an answer must not depend on what
    else retrieval returned, nor the fitted threshold on how many passages the fit read at once."""
    question = "Who designed the viaduct at Ripley?"
    short = "Goole is a port town in the East Riding of Yorkshire."
    long = " ".join(f"Station {i} had a small goods yard, a signal box and a water tower." for i in range(12))
    alone = reader.read_passages(question, [RAILWAY])[0]
    for beside in ([short], [long], [short, long, RAILWAY]):
        other = reader.read_passages(question, [RAILWAY, *beside])[0]
        assert other.best() == alone.best()
        for (_, s1, e1, h1), (_, s2, e2, h2) in zip(alone.windows, other.windows, strict=True):
            assert (s1 == s2).all() and (e1 == e2).all() and h1 == h2
