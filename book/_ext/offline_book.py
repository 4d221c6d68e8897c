"""A small Sphinx extension that makes the rendered book work offline and error-free.

* MathJax 3 is served from the book itself instead of a CDN: the files come from the
  PyPI package ``django-static-mathjax`` (MathJax 3.2.2, Apache-2.0; it has no
  dependencies) and are copied into ``_static/mathjax`` of the HTML output.
* ``static/rnn-primer.css`` is added to every page: display equations and code lines
  wider than the text column scroll inside it.
* sphinx-thebe and sphinx-togglebutton register their inline configuration scripts twice
  (once with the filename ``None``, once with ``""``), which makes every page throw
  "Identifier 'THEBE_JS_URL' has already been declared"; duplicates are dropped.
"""
import pathlib
import shutil

MATHJAX_FILES = ("tex-mml-chtml.js", "output/chtml/fonts/woff-v2")
STATIC = pathlib.Path(__file__).resolve().parent / "static"
CSS_FILES = ("rnn-primer.css",)


def _mathjax_source():
    import mathjax  # the django-static-mathjax package
    return pathlib.Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def _config_inited(app, config):
    config.mathjax_path = "mathjax/tex-mml-chtml.js"  # relative to _static
    config.html_static_path = [*config.html_static_path, str(STATIC)]
    for css in CSS_FILES:
        app.add_css_file(css)


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    src, dst = _mathjax_source(), pathlib.Path(app.outdir) / "_static" / "mathjax"
    for rel in MATHJAX_FILES:
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if (src / rel).is_dir():
            shutil.copytree(src / rel, target, dirs_exist_ok=True)
        else:
            shutil.copy2(src / rel, target)


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        # the same file or inline body (an inline script's filename is None or "")
        key = (getattr(js, "filename", js) or "", tuple(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):
    _mathjax_source()  # fail early with ImportError if the package is missing
    app.connect("config-inited", _config_inited)
    app.connect("build-finished", _copy_mathjax)
    app.connect("html-page-context", _drop_duplicate_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
