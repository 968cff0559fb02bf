"""The administration pages (/admin/users, /admin/walls, /admin/audit): one module per page with
its layout and callbacks, ``common`` for what they share. Component ids start with the page's
prefix (adm-users-, adm-walls-, adm-audit-) so the access gate maps each callback to its page;
every callback re-checks Action.ADMINISTER on the server and acts only inside the
administrator's own jurisdiction (queries.admin)."""
