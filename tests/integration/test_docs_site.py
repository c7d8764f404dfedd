"""The documentation site (`make docs`, scripts/build_docs.sh) builds without a warning, opens in a real browser
(Debian's headless Chromium) with its guides and reference, the rollout module's page shows its option tables, and
no link between its pages is broken."""

import functools
import html.parser
import http.server
import os
import subprocess
import threading
import urllib.parse

import pytest

from tests.support.ansible import ROOT

CHROMIUM = "/usr/bin/chromium"
GUIDES = ["install", "quickstart", "multi_host", "rollout", "fleet_release", "awx", "what_it_survives", "coming_from"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    build = subprocess.run(["bash", os.path.join(ROOT, "scripts", "build_docs.sh"), str(out)], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600, check=False)
    assert build.returncode == 0, build.stdout[-6000:]
    root = str(out / "html")
    handler = functools.partial(_Quiet, directory=root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield dict(root=root, url="http://127.0.0.1:%d/" % server.server_port, profile=str(out / "chromium-profile"))
    server.shutdown()
    server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def rendered(site, page):
    """The DOM of ``page`` once headless Chromium loaded it (scripts run)."""
    assert os.access(CHROMIUM, os.X_OK), "%s is missing: scripts/bootstrap.sh installs Debian's chromium" % CHROMIUM
    browser = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--user-data-dir=" + site["profile"], "--dump-dom", site["url"] + page],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120, check=False)
    assert browser.returncode == 0, browser.stderr[-3000:]
    return browser.stdout


class _Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for name in ("href", "src"):
            if attrs.get(name) and (tag, name) != ("link", "src"):
                self.links.append(attrs[name])


def parsed(path):
    page = _Page()
    with open(path, encoding="utf-8") as handle:
        page.feed(handle.read())
    return page


def test_the_index_renders_with_the_guides_and_the_reference(site):
    dom = rendered(site, "index.html")
    assert "<title>baton.docker — baton.docker documentation</title>" in dom
    for guide in GUIDES:
        assert 'href="guides/%s.html"' % guide in dom, guide
    assert 'href="collections/index.html"' in dom
    install = rendered(site, "guides/install.html")
    assert "Installing baton.docker" in install and "The managed hosts" in install


def test_the_rollout_module_page_renders_its_option_tables(site):
    dom = rendered(site, "collections/baton/docker/rollout_module.html")
    assert "baton.docker.rollout module" in dom
    assert dom.count('class="longtable ansible-option-table') >= 2  # parameters and return values
    for option in ("app", "units", "load_balancers", "docker_host", "validate_certs", "client_key"):
        assert 'id="parameter-%s"' % option in dom, option


def test_every_page_of_the_reference_is_there(site):
    reference = os.path.join(site["root"], "collections", "baton", "docker")
    pages = set(os.listdir(reference))
    modules = [n[:-3] for n in os.listdir(os.path.join(ROOT, "plugins", "modules")) if n.endswith(".py") and n != "__init__.py"]
    roles = os.listdir(os.path.join(ROOT, "roles"))
    filters = [n[:-4] for n in os.listdir(os.path.join(ROOT, "plugins", "filter")) if n.endswith(".yml")]
    wanted = {"%s_module.html" % m for m in modules} | {"%s_role.html" % r for r in roles} | {
        "%s_filter.html" % f for f in filters}
    assert wanted - pages == set()


def test_no_link_between_pages_is_broken(site):
    root = site["root"]
    pages = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".html"):
                path = os.path.join(folder, name)
                pages[os.path.normpath(path)] = parsed(path)
    broken = []
    checked = 0
    for path, page in pages.items():
        for link in page.links:
            parts = urllib.parse.urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:")):
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(path), urllib.parse.unquote(parts.path))) \
                if parts.path else path
            checked += 1
            if not os.path.exists(target):
                broken.append("%s -> %s" % (os.path.relpath(path, root), link))
            elif parts.fragment and target in pages and parts.fragment not in pages[target].ids:
                broken.append("%s -> %s (no such anchor)" % (os.path.relpath(path, root), link))
    assert checked > 1000, checked
    assert broken == []
