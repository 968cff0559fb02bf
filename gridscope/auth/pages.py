"""Server-rendered pages of the access layer (zh-CN, the product's dark design): sign-in,
forbidden, and an invalid wall link. Plain Flask + Jinja (autoescaped), so signing in needs no
JavaScript and no callback reaches the server before a session exists."""

from __future__ import annotations

import flask

_BASE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · {{ product }}</title>
<link rel="stylesheet" href="/assets/00_screen.css">
<link rel="stylesheet" href="/assets/60_access.css">
</head><body class="gs-access-body">
<main class="gs-access">
  <header class="gs-access-head">
    <div class="gs-access-emblem" aria-hidden="true"></div>
    <h1 class="gs-access-product">{{ product }}</h1>
    <p class="gs-access-sub">城乡网格化服务管理 · 指挥调度平台</p>
  </header>
  {% block body %}{% endblock %}
  <footer class="gs-access-foot">数据分级准入 · 访问全程留痕审计</footer>
</main></body></html>"""

_LOGIN = _BASE.replace(
    "{% block body %}{% endblock %}",
    """<form class="gs-access-card" method="post" action="/login" autocomplete="on">
    <h2 class="gs-access-title">用户登录</h2>
    {% if error %}<div class="gs-access-error" role="alert">{{ error }}</div>{% endif %}
    {% if notice %}<div class="gs-access-notice" role="status">{{ notice }}</div>{% endif %}
    <input type="hidden" name="csrf_token" value="{{ csrf }}">
    <input type="hidden" name="next" value="{{ next }}">
    <label class="gs-access-label" for="gs-username">用户名</label>
    <input class="gs-access-input" id="gs-username" name="username" value="{{ username }}"
           autocomplete="username" maxlength="32" required autofocus>
    <label class="gs-access-label" for="gs-password">密码</label>
    <input class="gs-access-input" id="gs-password" name="password" type="password"
           autocomplete="current-password" maxlength="256" required>
    <button class="gs-access-button" id="gs-login" type="submit">登 录</button>
    <p class="gs-access-hint">大屏请使用管理员发放的大屏链接打开，无需密码。</p>
  </form>""",
)

_MESSAGE = _BASE.replace(
    "{% block body %}{% endblock %}",
    """<section class="gs-access-card">
    <h2 class="gs-access-title">{{ heading }}</h2>
    <p class="gs-access-message">{{ message }}</p>
    <a class="gs-access-button gs-access-link" href="{{ href }}">{{ link }}</a>
  </section>""",
)


def _product() -> str:
    from queries.services import app_services

    return app_services().settings.title


def login_page(
    *, csrf: str, next_path: str = "", username: str = "", error: str = "", notice: str = ""
) -> str:
    return flask.render_template_string(
        _LOGIN,
        title="登录",
        product=_product(),
        csrf=csrf,
        next=next_path,
        username=username,
        error=error,
        notice=notice,
    )


def forbidden_page(message: str) -> str:
    return flask.render_template_string(
        _MESSAGE,
        title="无权访问",
        product=_product(),
        heading="无权访问",
        message=message,
        href="/",
        link="返回首页",
    )


def invalid_wall_page() -> str:
    return flask.render_template_string(
        _MESSAGE,
        title="大屏链接无效",
        product=_product(),
        heading="大屏链接无效",
        message="此大屏链接不存在或已被撤销，请联系系统管理员重新发放。",
        href="/login",
        link="用户登录",
    )
