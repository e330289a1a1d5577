"""The commands and code the docs show run, and end as the docs say.

The conventions, for whoever edits ``README.md``, ``docs/*.md``, ``exercises/README.md`` or
``benchmarks/README.md``:

- A command is a line of a fenced ``bash`` block that runs ``python train.py`` or ``python gradcheck.py``.
  A line ending in ``\\`` continues on the next one; ``&&`` chains commands, which run in order (other
  commands in the chain, such as ``pip install``, are not run). Pipes and redirections are not supported.
- A trailing comment ``# exit N`` (any words may follow) is the exit status the line must end with;
  without it, 0. ``# slow`` marks a command that takes too long to run here: it is skipped, by name.
  Keep those few; any other comment is for the reader.
- A fenced block opened as ```` ```python file=NAME ```` (any language) is a file the reader saves: it
  is written into the document's working directory before any of its commands run.
- Any other ``python`` block is run too: as a script, or as a doctest when it starts with ``>>>``.
- Each document runs in a fresh temporary directory holding its files and a copy of ``exercises/``, so
  outputs such as ``runs/model.npz`` land there. Its lines run in parallel: a command that needs
  another's output is chained to it with ``&&`` on the same line.
- A ``text`` block whose fenced block before it is a ``bash`` block (prose may stand between) shows the
  output of that block's last command line (of a ``&&`` chain, the outputs in turn), and is tested to be
  it: its lines appear in that output in order and next to each other, except where a line ``…`` stands
  for lines left out and a ``…`` inside a line for characters left out. Durations (``0.100 s``) may
  differ, and the progress lines (``epoch  10  loss …``) a run prints once it lasts over half a second
  are left out of both: they come and go with the machine's load.
- A command quoted in the prose (``python train.py --json`` in backquotes) must also be in a block,
  so that every command a reader sees is run; one with a ``…`` in it is a pattern, not a command.

Each command runs in a process of its own, started by a fork server that has already imported numpy,
scipy and the project: the ~50 commands then cost their own work rather than ~0.5 s of imports each,
and the whole file takes a few seconds.
"""

import contextlib
import multiprocessing
import os
import re
import runpy
import shlex
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

with contextlib.suppress(Exception):  # warms the fork server; a broken import shows in every command instead
    import gradcheck  # noqa: F401 (imported only to be in memory before the commands start)
    import train  # noqa: F401 (the same)

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "exercises" / "README.md",
        REPO / "benchmarks" / "README.md"]
SCRIPTS = ("train.py", "gradcheck.py")
DOCTEST = "-m doctest"  # the "script" of a >>> block: the standard library's doctest runner
TIMEOUT = 60  # seconds per command
MAX_SLOW = 3  # commands the docs may mark "# slow"

FENCE = re.compile(r"^(?P<indent>\s*)```(?P<info>.*)$")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
EXIT_COMMENT = re.compile(r"^exit (\d+)\b")
SHELL_OPERATORS = {"|", "||", ";", "&", ">", ">>", "<", "<<", "(", ")"}


# --- reading the docs -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    info: str  # what follows the opening ```, e.g. "bash" or "python file=my_layer.py"
    line: int  # line number of the opening fence
    text: str  # the content, dedented by the fence's indentation


@dataclass(frozen=True)
class Command:
    doc: str  # the document, relative to the repository
    line: int  # line number where the command starts
    text: str  # the line as shown, continuations joined
    chain: tuple  # (script, args) pairs, run in order
    status: int  # the exit status the last of them must end with
    slow: bool

    def __str__(self):
        return f"{self.doc}:{self.line}: {self.text}"


def fenced_blocks(markdown):
    """The fenced code blocks of ``markdown``, and the text outside them."""
    blocks, prose, lines = [], [], markdown.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            prose.append(lines[i])
            i += 1
            continue
        indent, body, start = opening["indent"], [], i + 1
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        blocks.append(Block(opening["info"].strip(), start, "\n".join(body) + "\n"))
        i += 1
    return blocks, "\n".join(prose)


def split_comment(line):
    """``(code, comment)``: a ``#`` after whitespace and outside quotes starts the comment."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].strip(), line[i + 1:].strip()
    return line.strip(), ""


def shell_words(code):
    lexer = shlex.shlex(code, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def script_calls(code, where):
    """The ``(script, args)`` of each ``python train.py|gradcheck.py`` in a ``&&`` chain; others are skipped."""
    calls, segment = [], []
    for word in [*shell_words(code), "&&"]:
        if word != "&&":
            segment.append(word)
            continue
        if segment[:1] == ["python"] and len(segment) > 1 and segment[1] in SCRIPTS:
            calls.append((segment[1], tuple(segment[2:])))
        elif any(Path(w).name in SCRIPTS for w in segment):
            raise ValueError(f"{where}: write the command as `python {' '.join(segment)}`")
        if SHELL_OPERATORS & set(segment):
            raise ValueError(f"{where}: pipes, redirections and ';' are not supported: {code}")
        segment = []
    return tuple(calls)


def logical_lines(block):
    """``(line offset, text)`` of a block's lines, with ``\\`` continuations joined."""
    pending, start = [], 0
    for offset, raw in enumerate(block.text.splitlines()):
        if not pending:
            start = offset
        if raw.rstrip().endswith("\\"):
            pending.append(raw.rstrip()[:-1].strip())
            continue
        yield start, " ".join([*pending, raw.strip()])
        pending = []


def shell_commands(doc, block):
    for offset, text in logical_lines(block):
        line = block.line + 1 + offset
        code, comment = split_comment(text)
        chain = script_calls(code, f"{doc}:{line}") if code else ()
        if chain:
            status = EXIT_COMMENT.match(comment)
            yield Command(doc, line, code, chain, int(status[1]) if status else 0, comment.split()[:1] == ["slow"])


def doc_name(path):
    return path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path.name


def read_doc(path):
    """``(commands, files)``: what a document runs, and ``{name: text}`` of what it saves first."""
    doc, commands, files = doc_name(path), [], {}
    for block in fenced_blocks(path.read_text(encoding="utf-8"))[0]:
        language, named = block.info.split()[:1], re.search(r"\bfile=(\S+)", block.info)
        if named:
            files[named[1]] = block.text
        elif language == ["bash"]:
            commands.extend(shell_commands(doc, block))
        elif language == ["python"]:
            doctest = block.text.startswith(">>>")
            snippet = f"snippet-{block.line}" + (".txt" if doctest else ".py")
            files[snippet] = block.text
            call = (DOCTEST, (snippet,)) if doctest else (snippet, ())
            commands.append(Command(doc, block.line + 1, f"the python block at line {block.line}", (call,), 0, False))
    return commands, files


COMMANDS = [command for doc in DOCS for command in read_doc(doc)[0]]


# --- running them ---------------------------------------------------------------------------------

def _run_script(script, args, cwd, log):
    """In the child process: ``python script args`` in ``cwd``, stdout and stderr into ``log``."""
    os.chdir(cwd)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.argv = [script, *args]
    status = 1  # an uncaught exception's, as Python's own
    try:
        if script == DOCTEST:
            runpy.run_module("doctest", run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(script, run_name="__main__")
        status = 0
    except SystemExit as exc:  # its sys.exit(status) becomes the process's exit status
        status = _exit_status(exc.code)
        raise
    finally:
        # The status, written by the child itself: under load the forkserver can lose a child and report 255
        # (CPython issue 140867), so the parent trusts this file over the process's exit code.
        Path(f"{log}.status").write_text(str(status))


def _exit_status(code):
    """The process exit status ``sys.exit(code)`` gives: None is 0, an int itself, anything else 1."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def _start_method():
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


PROCESSES = multiprocessing.get_context(_start_method())
if _start_method() == "forkserver":
    PROCESSES.set_forkserver_preload(["numpy", "scipy.optimize", _run_script.__module__])


def run_script(script, args, cwd, log):
    """``(exit status, output)`` of one command, in a process of its own; the status is None on timeout."""
    where = str(REPO / script) if script in SCRIPTS else script
    process = PROCESSES.Process(target=_run_script, args=(where, list(args), str(cwd), str(log)))
    process.start()
    process.join(TIMEOUT)
    if process.exitcode is None:
        process.kill()
        process.join()
        process.close()
        return None, f"did not finish in {TIMEOUT} s"
    status = process.exitcode
    process.close()
    written = Path(f"{log}.status")
    if written.exists():
        status = int(written.read_text())
    if not Path(log).exists():
        return status, "(no output: the process ended before the command started)"
    return status, Path(log).read_text(encoding="utf-8", errors="replace")


def slug(doc):
    return re.sub(r"\W", "_", doc)


def run_chain(command, cwd, logs):
    """Run a line's commands in order, as ``&&`` does: stop at the first that fails. The output is theirs in turn."""
    status, outputs = 0, []
    for i, (script, args) in enumerate(command.chain):
        status, output = run_script(script, args, cwd, logs / f"{slug(command.doc)}-{command.line}-{i}.log")
        outputs.append(output)
        if status != 0:
            break
    return status, "".join(outputs)


def workdir(doc, root):
    """A fresh directory for one document: its files and a copy of ``exercises/``."""
    cwd = root / slug(doc)
    shutil.copytree(REPO / "exercises", cwd / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    for name, text in read_doc(REPO / doc)[1].items():
        (cwd / name).parent.mkdir(parents=True, exist_ok=True)
        (cwd / name).write_text(text, encoding="utf-8")
    return cwd


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """``{command: (status, output)}`` for every command not marked slow, run in parallel."""
    root, logs = tmp_path_factory.mktemp("docs"), tmp_path_factory.mktemp("logs")
    runnable = [c for c in COMMANDS if not c.slow]
    dirs = {doc: workdir(doc, root) for doc in {c.doc for c in runnable}}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {c: pool.submit(run_chain, c, dirs[c.doc], logs) for c in runnable}
        return {c: future.result() for c, future in futures.items()}


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_the_command_ends_as_the_doc_says(command, results):
    if command.slow:
        pytest.skip(f"marked slow in {command.doc}")
    status, output = results[command]
    assert "Traceback (most recent call last)" not in output, f"{command} crashed:\n{output}"
    assert status == command.status, f"{command} exited with {status}, the doc says {command.status}:\n{output}"


# --- the conventions hold -------------------------------------------------------------------------

def test_every_guide_shows_commands_and_few_are_skipped():
    shown = {c.doc for c in COMMANDS}
    assert {"README.md", "docs/learn.md", "docs/training.md", "docs/gradcheck.md", "docs/guarantees.md",
            "exercises/README.md"} <= shown
    slow = [str(c) for c in COMMANDS if c.slow]
    assert len(slow) <= MAX_SLOW, f"more than {MAX_SLOW} commands skipped as slow: {slow}"


def test_a_command_quoted_in_the_prose_is_run_from_a_block():
    in_blocks = {shlex.join(["python", script, *args]) for command in COMMANDS for script, args in command.chain}
    missing = []
    for doc in DOCS:
        _, prose = fenced_blocks(doc.read_text(encoding="utf-8"))
        for quoted in INLINE_CODE.findall(prose):
            command = quoted.startswith(tuple(f"python {script}" for script in SCRIPTS)) and "…" not in quoted
            if command and shlex.join(shell_words(quoted)) not in in_blocks:
                missing.append(f"{doc_name(doc)}: `{quoted}`")
    assert not missing, "quoted in the prose but in no bash block (so never run):\n" + "\n".join(missing)


def shown_outputs(path):
    """``(command, text block)``: each ``text`` block after a ``bash`` block, with that block's last command."""
    doc, blocks = doc_name(path), fenced_blocks(path.read_text(encoding="utf-8"))[0]
    pairs = []
    for before, block in zip(blocks, blocks[1:], strict=False):
        closing = before.line + before.text.count("\n") + 1  # the closing fence's line number
        if before.info.split()[:1] != ["bash"] or block.info != "text":
            continue
        commands = [c for c in COMMANDS if c.doc == doc and before.line < c.line < closing]
        pairs.append((commands[-1] if commands else None, block))
    return pairs


SHOWN = [pytest.param(doc_name(doc), command, block, id=f"{doc_name(doc)}:{block.line}")
         for doc in DOCS for command, block in shown_outputs(doc)]
DURATION = re.compile(r"\b\d+(\.\d+)? s\b")
PROGRESS = re.compile(r"^epoch +\d+ ")


def _comparable(text):
    return [DURATION.sub("# s", line.rstrip()) for line in text.splitlines() if not PROGRESS.match(line)]


def _matches(pattern, line):
    """``line`` is ``pattern``, a ``…`` in which stands for any characters."""
    return re.fullmatch(".*".join(map(re.escape, pattern.split("…"))), line) is not None


def shows(output, text):
    """Whether ``text`` is ``output``, or parts of it in order with ``…`` lines standing for what is left out."""
    have, start = _comparable(output), 0
    parts = [[]]
    for line in _comparable(text):
        parts.append([]) if line.strip() == "…" else parts[-1].append(line)
    for part in filter(None, parts):
        found = next((i for i in range(start, len(have) - len(part) + 1)
                      if all(map(_matches, part, have[i:i + len(part)]))), None)
        if found is None:
            return False
        start = found + len(part)
    return True


@pytest.mark.parametrize("doc,command,block", SHOWN)
def test_a_text_block_after_a_command_is_that_commands_output(doc, command, block, results):
    assert command is not None, f"{doc}:{block.line}: a text block after a bash block that runs no command"
    if command.slow:
        pytest.skip(f"marked slow in {command.doc}")
    output = results[command][1]
    assert shows(output, block.text), f"{doc}:{block.line} is not the output of {command}:\n{output}"


def test_an_output_block_is_compared_line_by_line_with_gaps():
    output = "a\nb 1.5 s\nc\nd\ne\n"
    assert shows(output, "a\nb 0.2 s\n…\ne\n") and shows(output, "c\nd\n") and not shows(output, "a\nc\n")
    assert not shows(output, "d\n…\nc\n") and not shows(output, "x\n")
    assert shows("epoch   1  loss 0.5\n" + output, "a\nb 3 s\n") and shows(output, "epoch   9  loss 1\na\n")
    assert shows(output, "b …\nc\n") and shows(output, "…\n…d\n") and not shows(output, "b 2…\n")


def test_the_docs_link_to_files_and_headings_that_exist():
    broken = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", fenced_blocks(doc.read_text(encoding="utf-8"))[1]):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (doc.parent / path).resolve() if path else doc
            if not linked.exists():
                broken.append(f"{doc_name(doc)}: {target}")
            elif anchor and anchor not in _anchors(linked):
                broken.append(f"{doc_name(doc)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def _anchors(path):
    """GitHub's anchors for the headings of a markdown file."""
    _, prose = fenced_blocks(path.read_text(encoding="utf-8"))
    headings = re.findall(r"^#+\s+(.*)$", prose, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_readme_stays_short():
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 150


def test_the_readme_map_names_files_that_exist():
    """Each row of "Where things are" that starts with a folder names only modules in that folder."""
    stale = []
    for folder, row in re.findall(r"^\| `([\w/]+/)` \|(.*)$", (REPO / "README.md").read_text(encoding="utf-8"),
                                  flags=re.MULTILINE):
        assert (REPO / folder).is_dir(), f"README.md maps a folder that does not exist: {folder}"
        stale += [folder + name for name in re.findall(r"`(\w+\.py)`", row) if not (REPO / folder / name).is_file()]
    assert not stale, f"README.md's map names modules that do not exist: {stale}"


def test_the_conventions_are_read_as_documented(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "Save `python train.py --quiet`:\n\n"
        "```python file=mine.py\nX = 1\n```\n\n"
        "```bash\n"
        "pip install -e . && python train.py --quiet   # the default\n"
        "python gradcheck.py --layer mine.py:X \\\n    --layer-args '{\"a\": 1}'   # exit 2: not a layer\n"
        "python train.py --epochs 1000   # slow\n"
        "```\n\n```text\npython train.py --not-run\n```\n\n"
        "```python\n>>> 1 + 1\n2\n```\n", encoding="utf-8")
    commands, files = read_doc(doc)
    assert [(c.line, c.chain, c.status, c.slow) for c in commands] == [
        (8, (("train.py", ("--quiet",)),), 0, False),
        (9, (("gradcheck.py", ("--layer", "mine.py:X", "--layer-args", '{"a": 1}')),), 2, False),
        (11, (("train.py", ("--epochs", "1000")),), 0, True),
        (19, ((DOCTEST, ("snippet-18.txt",)),), 0, False),
    ]
    assert files == {"mine.py": "X = 1\n", "snippet-18.txt": ">>> 1 + 1\n2\n"}
    with pytest.raises(ValueError, match="pipes"):
        script_calls("python train.py --json | head -1", "here")


def test_a_failing_command_is_seen_as_failing(tmp_path):
    status, output = run_script("train.py", ["--epochs", "0"], tmp_path, tmp_path / "log")
    assert status == 2 and "--epochs" in output
    (tmp_path / "wrong.txt").write_text(">>> 1 + 1\n3\n", encoding="utf-8")
    status, output = run_script(DOCTEST, ["wrong.txt"], tmp_path, tmp_path / "log")
    assert status == 1 and "Expected" in output
