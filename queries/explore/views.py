"""Saved views: a name and the /explore query string, per user (table saved_view)."""

from __future__ import annotations

from datetime import datetime

import psycopg

MAX_VIEWS = 100  # per user and page


class ViewError(ValueError):
    pass


def list_views(conn: psycopg.Connection, user_id: int, page: str = "/explore"):
    """[(id, name, query)] of the user's saved views on ``page``, by name."""
    return conn.execute(
        "SELECT id, name, query FROM saved_view WHERE user_id = %s AND page = %s ORDER BY name",
        (user_id, page),
    ).fetchall()


def save_view(
    conn: psycopg.Connection,
    user_id: int,
    name: str,
    query: str,
    now: datetime,
    page: str = "/explore",
) -> int:
    """Save (or overwrite, by name) a view; returns its id. Commits."""
    name = name.strip()
    if not 1 <= len(name) <= 60:
        raise ViewError("视图名称应为 1–60 个字符")
    if len(query) > 4000:
        raise ViewError("筛选条件过长，无法保存")
    with conn.transaction():
        count = conn.execute(
            "SELECT count(*) FROM saved_view WHERE user_id = %s AND page = %s AND name <> %s",
            (user_id, page, name),
        ).fetchone()
        if count and count[0] >= MAX_VIEWS:
            raise ViewError(f"每人最多保存 {MAX_VIEWS} 个视图，请先删除不用的")
        row = conn.execute(
            "INSERT INTO saved_view (user_id, page, name, query, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (user_id, page, name) DO UPDATE SET query = EXCLUDED.query,"
            "   updated_at = EXCLUDED.updated_at RETURNING id",
            (user_id, page, name, query, now, now),
        ).fetchone()
    assert row is not None
    return int(row[0])


def delete_view(conn: psycopg.Connection, user_id: int, view_id: int) -> bool:
    """Delete one of the user's own views; False when it is not theirs or does not exist."""
    with conn.transaction():
        cur = conn.execute(
            "DELETE FROM saved_view WHERE id = %s AND user_id = %s", (view_id, user_id)
        )
    return cur.rowcount == 1
