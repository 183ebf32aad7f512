"""The rendered book, opened in a real browser (headless Chromium over the DevTools protocol).

Every page of the built book is served on 127.0.0.1 and checked as a reader would see it: formulas
rendered by the locally served MathJax (none left raw), no request to any other host, no console errors,
one search box, code that fits the column, figures with alt text, no `<word>` swallowed as an HTML tag,
no table split by a `|`, no reference to a chapter the book lacks, one box per printed log, and on each
chapter the Colab badge and the link to its assignment. Screenshots go to _build/screenshots/.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from conftest import ROOT, needs_mirror, serve_folder

sys.path.insert(0, str(ROOT / "book" / "_ext"))
from cdp import Browser, find_chromium  # noqa: E402  (the book's own tooling, beside its Sphinx extension)
from rnnbook.grading.course import CHAPTER_ASSIGNMENTS, Course, repository_branch, repository_url  # noqa: E402

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: apt-get install chromium")
SCREENSHOTS = ROOT / "_build" / "screenshots"

# What a reader sees, gathered in the page (JavaScript returns one JSON object).
AUDIT_JS = r"""
(() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const visible = e => !!(e.offsetParent || e.getClientRects().length);
  const mathNodes = [...article.querySelectorAll('.math')];
  // Text outside code, scripts and rendered math: raw TeX or a stray backtick would show here.
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, {acceptNode: n =>
    n.parentElement.closest('pre, code, script, style, mjx-container, .MathJax')
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  let prose = '';
  while (walker.nextNode()) prose += walker.currentNode.nodeValue + ' ';
  const unknown = [...article.querySelectorAll('*')]
    .filter(e => !e.tagName.includes('-') && !(e.namespaceURI || '').includes('svg')
                 && e instanceof HTMLUnknownElement).map(e => e.tagName.toLowerCase());
  return {
    mathTotal: mathNodes.length,
    mathRendered: mathNodes.filter(m => m.querySelector('mjx-container')).length,
    rawTex: ['$$', '\\(', '\\[', '\\begin{'].filter(t => prose.includes(t)),
    searchBoxes: [...document.querySelectorAll('input[type=search], .search-button, .search-button-field')]
      .filter(visible).length,
    imagesWithoutAlt: [...article.querySelectorAll('img')].filter(i => !(i.alt || '').trim())
      .map(i => i.getAttribute('src')),
    brokenImages: [...document.images].filter(i => i.complete && i.naturalWidth === 0)
      .map(i => i.getAttribute('src')),
    overflowingCode: [...article.querySelectorAll('pre')].filter(p => visible(p) && p.scrollWidth > p.clientWidth + 2)
      .map(p => p.textContent.trim().slice(0, 60)),
    splitLogs: [...article.querySelectorAll('.cell_output')]
      .filter(o => o.querySelectorAll(':scope > .output.stream').length > 1).length,
    unknownTags: [...new Set(unknown)],
    tableBackticks: [...article.querySelectorAll('td, th')].map(c => {
        const clone = c.cloneNode(true); clone.querySelectorAll('code').forEach(x => x.remove());
        return clone.textContent; }).filter(t => t.includes('`')),
    chapterRefs: [...prose.matchAll(/\bChapters? (\d+)/g)].map(m => Number(m[1])),
    links: [...article.querySelectorAll('a[href]')].map(a => a.href),
    firstMath: !!article.querySelector('mjx-container'),
  };
})()
"""


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    entries = [toc["root"]]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        entries += [chapter["file"] for chapter in part["chapters"]]
    return entries


def audit_problems(page: str, audit: dict, requests: list[str], errors: list[str], chapters: set[int],
                   course: Course) -> list[str]:
    """Everything wrong with one page, as readable lines (empty: the page is fine)."""
    problems = []
    external = sorted({u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss")
                       and urlparse(u).hostname not in ("127.0.0.1", "localhost")})
    problems += [f"request to another host: {u}" for u in external]
    problems += [f"console error: {e[:200]}" for e in errors]
    if audit["mathRendered"] < audit["mathTotal"]:
        problems.append(f"{audit['mathTotal'] - audit['mathRendered']} of {audit['mathTotal']} formulas not rendered")
    if audit["rawTex"]:
        problems.append(f"raw TeX in the text: {audit['rawTex']}")
    if audit["searchBoxes"] != 1:
        problems.append(f"{audit['searchBoxes']} search boxes (want 1)")
    problems += [f"image without alt text: {src}" for src in audit["imagesWithoutAlt"]]
    problems += [f"image does not load: {src}" for src in audit["brokenImages"]]
    problems += [f"code wider than the column: {text!r}" for text in audit["overflowingCode"]]
    if audit["splitLogs"]:
        problems.append(f"{audit['splitLogs']} cell logs split into several boxes")
    problems += [f"<{tag}> swallowed as an HTML tag" for tag in audit["unknownTags"]]
    problems += [f"table cell broken by a `|` in code: {t.strip()[:60]!r}" for t in audit["tableBackticks"]]
    problems += [f"refers to Chapter {n}, which the book does not have" for n in sorted(set(audit["chapterRefs"]) - chapters)]
    match = re.search(r"(\d\d)_[^/]+$", page)
    if match:  # a chapter: its own Colab badge and its assignment's
        url, branch = repository_url(ROOT), repository_branch(ROOT)
        github = url.split("github.com/", 1)[1]
        colab = f"https://colab.research.google.com/github/{github}/blob/{branch}/"
        want = [colab + page + ".ipynb"]
        assignment = CHAPTER_ASSIGNMENTS.get(match.group(1))
        if assignment in course.assignments():
            want.append(colab + f"exercises/{assignment}/{assignment}.ipynb")
        problems += [f"no link to {link}" for link in want if link not in audit["links"]]
    return problems


@pytest.fixture(scope="module")
def site():
    """Build the book (warm: only changed chapters run) and serve it on 127.0.0.1."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jupyter_book), "build", str(ROOT), "--warningiserror", "--keep-going"],
                            capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    html = ROOT / "_build" / "html"
    with serve_folder(html) as base:
        yield base, html


def check_site(base: str, pages: list[str], shots: Path | None) -> dict[str, list[str]]:
    """Open every page; returns {page: problems}."""
    course = Course(ROOT)
    chapters = {int(m.group(1)) for p in toc_pages() if (m := re.search(r"(\d\d)_[^/]+$", p))}
    report = {}
    with Browser(CHROMIUM) as browser:
        for page in pages:
            browser.open(f"{base}/{page}.html")
            # MathJax typesets after the load event: wait for it (no MathJax at all is a problem itself).
            browser.wait_for_math()
            audit = browser.evaluate(AUDIT_JS)
            report[page] = audit_problems(page, audit, browser.requested_urls(), browser.console_errors(),
                                          chapters, course)
            if shots:
                name = page.replace("/", "_")
                browser.screenshot(shots / f"{name}.png")
                for selector, suffix in (("mjx-container[display=true]", "math"), (".cell_output img", "figure")):
                    if browser.evaluate(f"(e => e ? (e.scrollIntoView({{block: 'center'}}), true) : false)"
                                        f"(document.querySelector('{selector}'))"):
                        browser.screenshot(shots / f"{name}-{suffix}.png")
    return report


@pytest.mark.slow
@needs_mirror
@needs_chromium
def test_every_page_reads_well_in_a_browser(site):
    base, _ = site
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    report = check_site(base, toc_pages(), SCREENSHOTS)
    bad = {page: problems for page, problems in report.items() if problems}
    assert not bad, "\n".join(f"{page}:\n  " + "\n  ".join(p) for page, p in bad.items())


def _in_article(snippet):
    """A change that puts ``snippet`` right after the page's first heading."""
    def change(page):
        at = page.index("</h1>", page.index("<article")) + len("</h1>")
        return page[:at] + snippet + page[at:]
    return change


# Each defect the book once had, put back into a copy of a chapter page: (name, change, expected problem).
DEFECTS = [
    ("mathjax-from-cdn", lambda h: re.sub(r'src="[^"]*mathjax/tex-chtml\.js[^"]*"',
                                          'src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"', h),
     "request to another host"),
    ("duplicate-thebe", lambda h: re.sub(r"(<script>const THEBE_JS_URL.*?</script>)", r"\1\1", h, count=1), "already been declared"),
    ("theme-mode", lambda h: h.replace('getItem("mode") || "light"', 'getItem("mode") || ""'), "invalid theme mode"),
    ("two-search-boxes", lambda h: h.replace("<article", '<input type="search" name="q"><article', 1), "search boxes"),
    ("bare-unk", _in_article("<p>the <unk> of the <unk></p>"), "<unk> swallowed"),
    ("pipe-in-table", _in_article('<table><tr><td>`re.findall(r"\\w+</td><td>[^\\w]")`</td></tr></table>'),
     "table cell broken"),
    ("missing-chapter", _in_article("<p>as Chapter 42 shows</p>"), "Chapter 42"),
    ("image-without-alt", lambda h: re.sub(r'(<img[^>]*?) alt="[^"]*"', r"\1", h), "image without alt text"),
    ("code-cut-off", _in_article("<div class='highlight'><pre style='white-space: pre'>"
                                          + "x = 1  # " + "long " * 80 + "</pre></div>"), "code wider than the column"),
    ("split-log", lambda h: re.sub(r'(<div class="cell_output docutils container">\s*)(<div class="output stream[^>]*>.*?</div>\s*</div>)',
                                   r"\1\2\2", h, count=1, flags=re.S), "logs split"),
]


@pytest.mark.slow
@needs_mirror
@needs_chromium
def test_the_browser_check_catches_each_old_defect(site):
    base, html = site
    original = (html / "book" / "02_rnn_language_models.html").read_text()
    pages = []
    try:
        for name, change, _ in DEFECTS:
            mutated = change(original)
            assert mutated != original, f"{name}: the change did not apply to the page"
            (html / "book" / f"02_defect_{name}.html").write_text(mutated)
            pages.append(f"book/02_defect_{name}")
        report = check_site(base, pages, None)
    finally:
        for page in pages:
            (html / f"{page}.html").unlink(missing_ok=True)
    for (name, _, expected), page in zip(DEFECTS, pages):
        assert any(expected in problem for problem in report[page]), f"{name} not caught: {report[page]}"
