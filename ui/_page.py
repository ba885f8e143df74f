"""The page's look and launch settings: theme, CSS, the [n] click script, the doors.

Split from ``_app`` (events and layout) so each stays readable; ``ui.launch_options``
is the public way in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._docs import DEFAULT_MAX_UPLOAD_MB

if TYPE_CHECKING:
    import gradio as gr

CSS = """
#qa-sources { max-height: 78vh; overflow-y: auto; }
.qa-sources { font-size: 0.95em; }
.qa-src-for { margin: 0 0 .4em; opacity: .85; }
.qa-src, .qa-ret { border-left: 3px solid var(--color-accent, #f97316); padding: .35em .7em;
  margin: .6em 0; background: var(--block-background-fill); border-radius: 4px; }
.qa-ret { border-left-color: var(--border-color-primary, #d1d5db); }
.qa-src.qa-flash { outline: 3px solid #f59e0b; outline-offset: 2px; }
.qa-src-head { font-weight: 600; }
.qa-src-meta { font-size: .82em; opacity: .75; }
.qa-passage { margin: .35em 0; padding: 0; border: 0; font-style: normal; }
.qa-passage mark { background: #fde68a; color: #111827; padding: 0 .1em; border-radius: 2px; }
.qa-short { font-weight: 700; text-decoration: underline; text-decoration-thickness: 2px; }
a.qa-cite { font-weight: 600; text-decoration: none; }
.qa-abstain { border: 1px dashed #b45309; background: #fffbeb; color: #78350f; padding: .5em .7em;
  border-radius: 6px; }
.qa-abstain-label { font-weight: 700; text-transform: uppercase; font-size: .78em; letter-spacing: .04em;
  margin-right: .4em; }
.qa-clarify { border: 1px solid #2563eb; background: #eff6ff; color: #1e3a8a; padding: .5em .7em;
  border-radius: 6px; }
.qa-clarify-label { font-weight: 700; text-transform: uppercase; font-size: .78em; letter-spacing: .04em;
  margin-right: .4em; }
.qa-notice { color: #9a3412; background: #fff7ed; border: 1px solid #fdba74; padding: .4em .7em;
  border-radius: 6px; }
.qa-ok { color: #166534; } .qa-err { color: #9a3412; } .qa-busy { opacity: .85; }
.qa-standalone { font-size: .8em; opacity: .7; margin-top: .35em; }
.qa-pending { opacity: .6; font-style: italic; }
"""

# Clicking [n] in an answer scrolls its passage into view. Another answer's passages
# appear a moment later (the chatbot's select event re-renders the panel), so wait.
HEAD = """<script>
document.addEventListener('click', function (ev) {
  var a = ev.target && ev.target.closest ? ev.target.closest('a.qa-cite') : null;
  if (!a) return;
  ev.preventDefault();
  var id = (a.getAttribute('href') || '').slice(1);
  var tries = 0;
  (function reveal() {
    var el = document.getElementById(id);
    if (el) {
      el.scrollIntoView({block: 'center'});
      el.classList.add('qa-flash');
      setTimeout(function () { el.classList.remove('qa-flash'); }, 1600);
    } else if (tries++ < 60) {
      setTimeout(reveal, 100);
    }
  })();
}, true);
</script>"""

SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]


def theme() -> gr.themes.Base:
    """Plain font-family names: the page fetches no web fonts, so it works offline."""
    import gradio as gr

    return gr.themes.Default(font=SYSTEM_FONTS, font_mono=MONO_FONTS)


def launch_options(
    max_upload_mb: float | None = None,
    *,
    app: gr.Blocks | None = None,
    auth: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """What ``Blocks.launch`` needs besides host and port (Gradio 6 takes theme/css/head here).

    With ``app`` (a :func:`ui.build_app` result) the HTTP API is served beside the chat; with
    ``auth`` the chat's login and the API's both require one of those logins, and share one
    failed-login throttle. ``max_upload_mb`` defaults to the limit ``app`` was built with,
    else 20 MB.
    """
    from ._guard import LoginThrottle, guard_middleware

    if max_upload_mb is None:
        service = getattr(app, "qa_service", None)
        max_upload_mb = service.library.max_upload_mb if service is not None else DEFAULT_MAX_UPLOAD_MB

    throttle = LoginThrottle()
    app_kwargs: dict[str, Any] = {"middleware": [guard_middleware(max_upload_mb, throttle)]}
    if app is not None:
        from ._routes import api_app_kwargs

        app_kwargs.update(api_app_kwargs(app.qa_service, auth, throttle))  # type: ignore[attr-defined]
    options: dict[str, Any] = {
        "theme": theme(),
        "css": CSS,
        "head": HEAD,
        "ssr_mode": False,
        "max_file_size": f"{int(max_upload_mb * 1_000_000)}b",  # refused at the upload endpoint
        "show_error": False,
        "app_kwargs": app_kwargs,  # upload types, login throttle, the HTTP API
    }
    if auth:
        options.update(auth=auth, auth_message="Sign in to ask questions about these documents.")
    return options
