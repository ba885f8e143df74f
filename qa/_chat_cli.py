"""``qa ask`` and ``qa chat``: printing answers as they stream, and the chat's slash commands.

Heavy imports (the assistant, torch) happen inside the functions, so ``qa --help`` stays instant.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from ._terminal import fail, printable

HELP = (
    "Commands: /new forgets the conversation so far; /help shows this; "
    "/quit or /exit (or quit, exit, Ctrl-D) ends the chat. Anything else is a question."
)
_QUIT_WORDS = {"quit", "exit", "/quit", "/exit"}
_COMMAND = re.compile(r"/[A-Za-z][\w-]*")  # "/etc/hosts is what?" is a question, not a command


def index_dir(args: argparse.Namespace) -> Path | None:
    return Path(args.index_dir) if getattr(args, "index_dir", None) else None


def sources_text(answer: Any) -> str:
    """The answer's numbered sources, with control characters in document names escaped."""
    safe = [c.model_copy(update={"doc": printable(c.doc)}) for c in answer.citations]
    return answer.model_copy(update={"citations": safe}).sources_text()


def print_answer(answer: Any, as_json: bool) -> None:
    if as_json:  # JSON escapes control characters itself: names stay exact for scripts
        print(answer.to_json(indent=2))
        return
    print(answer.text)
    print_reading(answer)
    if answer.citations:
        print()
        print(sources_text(answer))


def print_reading(answer: Any) -> None:
    """How the turn was read: asked back (nothing cited yet), and the standalone reading."""
    if answer.clarification is not None:
        print("  (asking back: say which you mean; nothing is cited until then)")
    if answer.standalone_question:
        print(f"  (understood as: {printable(answer.standalone_question)})")


def assistant(args: argparse.Namespace) -> Any:
    """The Assistant the options ask for; what they leave out comes from the settings the
    command line loaded once (``args.settings``)."""
    from index import Settings, store_from_args
    from qa import Assistant, generator_from_args

    settings = Settings.from_args(args)
    return Assistant(
        index_dir(args),
        top_k=args.top_k,
        generator=generator_from_args(args, settings),
        store=store_from_args(args, settings),
        settings=settings,
    )


def ask_streaming(bot: Any, question: str, history: Any, as_json: bool) -> Any:
    """Print the answer as it is generated, then what verification changed, then the sources."""
    if as_json:
        answer = bot.answer(question, history)
        print_answer(answer, True)
        return answer
    answer, streamed = None, []
    try:
        for item in bot.stream(question, history):
            if isinstance(item, str):
                print(item, end="", flush=True)
                streamed.append(item)
            else:
                answer = item
    finally:
        if streamed:
            print(flush=True)
    if answer.text.strip() != "".join(streamed).strip():
        print(f"\nVerified answer: {answer.text}")
    print_reading(answer)
    for s in answer.sentences:
        if not s.kept:
            print(f"  (dropped \u201c{s.text}\u201d: {s.reason})")
    if answer.citations:
        print()
        print(sources_text(answer))
    return answer


def chat_command(line: str) -> str | None:
    """What a chat line asks of the chat itself: "quit", "help", "new", "unknown", or None
    for a question. Plain "quit", "exit" and "help" count: nobody asks their documents that."""
    word = line.strip().lower().rstrip(".!")
    if word in _QUIT_WORDS:
        return "quit"
    if word in ("help", "/help"):
        return "help"
    if word == "/new":
        return "new"
    first = line.split(maxsplit=1)[0] if line.strip() else ""
    return "unknown" if _COMMAND.fullmatch(first) else None


def cmd_chat(args: argparse.Namespace) -> int:
    from index import IndexError_
    from qa import QAError, Turn

    try:
        bot = assistant(args)
        bot.warm_up()
    except (QAError, IndexError_) as exc:
        return fail(str(exc))
    history: list[Turn] = []
    interactive = sys.stdin.isatty()
    if interactive:
        print("Ask about your documents. /help lists the commands; an empty line or Ctrl-D quits.")
    while True:
        try:
            line = input("you> " if interactive else "")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        question = line.strip()
        if not question:
            if interactive:
                return 0
            continue
        command = chat_command(question)
        if command == "quit":
            return 0
        if command == "help":
            print(HELP)
            continue
        if command == "new":
            history.clear()
            print("(new conversation)")
            continue
        if command == "unknown":
            print(
                f"qa: unknown command {printable(question.split()[0])}; /help lists the commands",
                file=sys.stderr,
            )
            continue
        try:
            answer = ask_streaming(bot, question, history, args.json)
        except QAError as exc:
            print(f"qa: {printable(str(exc))}", file=sys.stderr)
            continue
        print()
        history.append(Turn(question=question, answer=answer.text))
