"""Language: Chinese first, English on request (a cookie set by the visible switch, or
?lang=en). Message ids are the Chinese text; translations/en holds the English."""

from babel import Locale
from flask import Flask, current_app, has_request_context, request, request_started
from flask_babel import get_locale, refresh
from markupsafe import Markup

from core.form_errors import page_problems

LANG_COOKIE = "lang"


def N_(text: str) -> str:
    """Mark a message id for extraction (babel.cfg); it is translated where it is shown."""
    return text


def select_locale() -> Locale:
    config = current_app.config
    if not has_request_context():  # CLI, scheduler jobs: Chinese
        return _locale(config["BABEL_DEFAULT_LOCALE"])
    # `in` before `[]`: MultiDict.get() builds a BadRequestKeyError for a key absent
    args, cookies = request.args, request.cookies
    chosen = (("lang" in args and args["lang"])
              or (LANG_COOKIE in cookies and cookies[LANG_COOKIE]))
    if chosen in config["LANGUAGES"]:
        return _locale(chosen)
    return _locale(config["BABEL_DEFAULT_LOCALE"])


_LOCALES: dict[str, Locale] = {}  # code → Locale, parsed once per process
_CODES: dict[Locale, str] = {}  # and back, without formatting the Locale each time


def _locale(code: str) -> Locale:
    """The Locale of `code`. flask_babel takes a Locale as it is; a code it would parse
    again on every request (a look-up in Babel's data)."""
    locale = _LOCALES.get(code)
    if locale is None:
        locale = _LOCALES[code] = Locale.parse(code)
        _CODES[locale] = code
    return locale


def current_language() -> str:
    """'zh_CN' or 'en' for the current request."""
    locale = get_locale()
    code = _CODES.get(locale) if locale is not None else None
    return code or str(locale or current_app.config["BABEL_DEFAULT_LOCALE"])


def html_lang() -> str:
    return "en" if current_language() == "en" else "zh-CN"


def is_english(language: str | None) -> bool:
    return (language or "").lower().startswith("en")


def localized(obj, field: str, language: str | None = None) -> str:
    """obj.<field>_en in English when there is one, else obj.<field>: a name in `language`
    (a couple's SMS or calendar file) or, by default, in the current request's language."""
    if is_english(language or current_language()):
        english = getattr(obj, f"{field}_en", "") or ""
        if english:
            return english
    return getattr(obj, field) or ""


# Punctuation between pieces of text that are translated separately: full-width in Chinese,
# ASCII with a space in English (templates call these instead of writing "：" or "（…）").

def colon() -> str:
    """After a label: "地址：…" / "Address: …"."""
    return ": " if current_language() == "en" else "："


def comma() -> str:
    return ", " if current_language() == "en" else "，"


def list_sep() -> str:
    """Between the items of an inline list: "老年人、孕妇" / "older people, pregnant women"."""
    return ", " if current_language() == "en" else "、"


def paren(text) -> Markup:
    """A remark after a word: "法定节假日（国庆节）" / "Public holiday (National Day)"."""
    if current_language() == "en":
        return Markup(" (%s)") % (text,)
    return Markup("（%s）") % (text,)


def _forget_locale(*_args, **_kwargs) -> None:
    """flask_babel caches the chosen locale on `g` (g._flask_babel.babel_locale), and `g`
    belongs to the app context. A request pushed inside an app context that is already
    there (tests, CLI code that calls the test client) shares it, so without this the first
    request's language would stick to every later one."""
    refresh()


def init_i18n(app: Flask) -> None:
    from core.extensions import babel

    # Choose the language afresh for each request, and drop it when the request ends.
    request_started.connect(_forget_locale, app)
    app.teardown_request(_forget_locale)

    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(app.root_path + "/translations"))
    app.jinja_env.globals.update(html_lang=html_lang, current_language=current_language,
                                 localized=localized, colon=colon, comma=comma,
                                 list_sep=list_sep, paren=paren, page_problems=page_problems)
