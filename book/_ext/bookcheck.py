"""Local Sphinx extension: small fixes of the rendered pages, and checks that fail the build (as
warnings, which ``--warningiserror`` turns into errors) on defects a reader would see:

- a ``<word>`` in markdown read as an unknown HTML tag (e.g. a bare ``<unk>`` vanishes);
- a table cell cut short by a ``|`` inside code (a stray backtick is left in the text);
- "Chapter N" when the book has no chapter N;
- duplicated page furniture: more than one search box, a script included twice, two navigation cells;
- an image without alt text.

Fixes (applied to every written page at the end of the build): the Colab badge image is served from
``_static`` (no request to another host) and repeated script tags (sphinx-thebe adds its configuration
twice) are dropped.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
CHAPTER_PAGE = re.compile(r"(^|/)(\d\d)_[^/]*\.html$")
CHAPTER_REF = re.compile(r"\bChapters? (\d+)(?:\s*(?:–|-|and|to|,)\s*(\d+))?")
HTML_TAGS = set("""a abbr address area article aside audio b base bdi bdo blockquote body br button canvas
caption cite code col colgroup data datalist dd del details dfn dialog div dl dt em embed fieldset figcaption
figure footer form h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img input ins kbd label legend li
link main map mark menu meta meter nav noscript object ol optgroup option output p param picture pre progress
q rp rt ruby s samp script search section select slot small source span strong style sub summary sup table
tbody td template textarea tfoot th thead time title tr track u ul var video wbr svg path g circle rect line
polyline polygon text tspan defs use symbol clippath lineargradient stop mask marker title desc image
math mi mo mn mrow msup msub mfrac""".split())


SCRIPT_TAG = re.compile(r"<script\b[^>]*>.*?</script>", re.S)


def _fix_page(page: Path, outdir: Path) -> str:
    """Drop repeated script tags (sphinx-thebe registers its configuration twice: the second `const`
    declaration is a console error) and serve the Colab badge from _static. Returns the page's HTML."""
    text = page.read_text(encoding="utf-8")
    seen = set()

    def once(match):
        tag = match.group(0)
        if tag in seen:
            return ""
        seen.add(tag)
        return tag

    fixed = SCRIPT_TAG.sub(once, text)
    depth = len(page.relative_to(outdir).parts) - 1
    fixed = fixed.replace(COLAB_BADGE, "../" * depth + "_static/colab-badge.svg")
    if fixed != text:
        page.write_text(fixed, encoding="utf-8")
    return fixed


class _PageScan(HTMLParser):
    """Collects what the checks need from one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.unknown_tags, self.search_boxes, self.scripts, self.images_without_alt = [], 0, [], []
        self.stray_backticks, self.nav_cells, self.text = [], 0, []
        self._stack = []  # open elements we care about: td/th, code/pre, article

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in HTML_TAGS and "-" not in tag:  # custom elements have a dash; `<unk>` has none
            self.unknown_tags.append(tag)
        if tag == "input" and attrs.get("type") == "search":
            self.search_boxes += 1
        if tag == "script":
            self.scripts.append(attrs.get("src") or "")
        if tag == "img" and not (attrs.get("alt") or "").strip():
            self.images_without_alt.append(attrs.get("src", "?"))
        if tag == "a" and "/blob/" in (attrs.get("href") or "") and "colab.research.google.com" in attrs["href"]:
            self.nav_cells += 1
        if tag in ("td", "th", "code", "pre", "article", "script", "style"):
            self._stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data):
        inside = set(self._stack)
        if "script" in inside or "style" in inside or "code" in inside or "pre" in inside:
            return
        if "article" in inside:
            self.text.append(data)
        if ("td" in inside or "th" in inside) and "`" in data:
            self.stray_backticks.append(data.strip())


def _check_pages(app, exception):
    if exception is not None or app.builder.name != "html":  # (singlehtml has no per-chapter pages)
        return
    outdir = Path(app.outdir)
    pages = sorted(p for p in outdir.rglob("*.html") if "_static" not in p.parts and p.name not in
                   ("genindex.html", "search.html"))
    chapters = {int(m.group(2)) for p in pages if (m := CHAPTER_PAGE.search(p.relative_to(outdir).as_posix()))}
    for page in pages:
        scan = _PageScan()
        scan.feed(_fix_page(page, outdir))
        name = page.relative_to(outdir).as_posix()

        def warn(message):
            logger.warning(f"{name}: {message}", type="bookcheck", subtype="page")

        for tag in sorted(set(scan.unknown_tags)):
            warn(f"<{tag}> was read as an HTML tag and vanished from the page; write it in backticks: `<{tag}>`")
        for text in scan.stray_backticks:
            warn(f"a table cell ends in a stray backtick ({text!r}): a `|` inside code splits the cell; write \\|")
        if scan.search_boxes > 1:
            warn(f"{scan.search_boxes} search boxes on the page; keep one (theme option navbar_persistent)")
        doubled = sorted({s for s in scan.scripts if s and scan.scripts.count(s) > 1})
        if doubled:
            warn(f"scripts included twice: {', '.join(doubled)}")
        for src in scan.images_without_alt:
            warn(f"image without alt text: {src} (give the figure cell mystnb image alt metadata)")
        if CHAPTER_PAGE.search(name):
            # a chapter: one navigation cell (own Colab badge + assignment badge = at most 2 Colab links)
            if scan.nav_cells > 2:
                warn(f"{scan.nav_cells} Colab links: the generated navigation cell appears more than once")
        body = " ".join(scan.text)
        for match in CHAPTER_REF.finditer(body):
            low, high = int(match.group(1)), int(match.group(2) or match.group(1))
            missing = [n for n in range(low, high + 1) if n not in chapters]
            if missing:
                warn(f"'{match.group(0)}' refers to chapter(s) {missing}, which the book does not have")


def setup(app):
    app.connect("build-finished", _check_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
