"""What the AppTest page tests share: the app as a first start runs it, waiting for its background work, and the
text a page shows as a reader sees it. The ``app`` and ``read_demo`` fixtures are in conftest.py."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

TIMEOUT = 120  # the first run loads MiniLM once per process


class NavigationOnlyPagesManager:
    """AppTest re-detects the ``pages/`` folder before every run and, from the second run on,
    executes the page file alone (old multipage mode), skipping app.py's st.navigation and
    sidebar (seen with Streamlit 1.67). The real server is not affected: st.navigation turns
    that mode off. This wrapper turns it off for AppTest too."""

    def __new__(cls, *args, **kwargs):
        from streamlit.runtime.pages_manager import PagesManager

        manager = PagesManager(*args, **kwargs)
        PagesManager.uses_pages_directory = False
        return manager


def wait_for_background_work(at: AppTest) -> AppTest:
    """Waits for the app's background jobs (reading, map, groups), then redraws the page as its panel would."""
    from prodsim.jobs import runner

    runner().wait_all(timeout=600)
    return at.run()


def as_read(markdown: str) -> str:
    """Markdown source as a reader sees its characters: backslash escapes removed (catalog text is escaped)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def texts(at) -> str:
    return "\n".join(as_read(str(e.value)) for e in [*at.markdown, *at.caption, *at.success, *at.error, *at.warning, *at.info])

