-- A wall link's rotation (issue #10), as text in the form of domain/playlist.py, e.g.
-- 'overview:60,towns:20,overdue:30'. Empty: the link follows the setting wall_playlist.
-- Validated by domain.playlist on every write (gridscope wall playlist, /admin/walls); the
-- length CHECK only keeps a stray write from storing a document.
ALTER TABLE wall_link ADD COLUMN playlist text NOT NULL DEFAULT ''
    CHECK (length(playlist) <= 2000);
