-- 001_init: entities and their ownership history (DESIGN §3).
--
-- Migrations are applied by common/store/migrations.cc, each in its own
-- transaction together with its row in schema_version, so a file must not
-- contain BEGIN/COMMIT itself. Timestamps are ISO 8601 UTC with milliseconds,
-- computed by SQLite (the C++ never reads the wall clock).

-- One row per entity. owner_epoch is the fencing token: every write carries the
-- epoch its owner was activated with and changes nothing once it moved.
-- owner_node is NULL while no node holds the entity.
CREATE TABLE entities (
  id          TEXT    PRIMARY KEY,
  state       TEXT    NOT NULL CHECK (state IN ('initialized', 'working', 'finalized')),
  version     INTEGER NOT NULL,
  owner_node  TEXT,
  owner_epoch INTEGER NOT NULL,
  updated_at  TEXT    NOT NULL
);

-- One row per tenure: node `node` owned `id` with fencing epoch `epoch` from
-- acquired_at until released_at (NULL while it lasts), and `reason` says why it
-- ended. A create opens an entity's first tenure; a request for an id with no
-- entity writes nothing. The newest epoch of an id is what fences a create.
CREATE TABLE ownership (
  id          TEXT    NOT NULL,
  node        TEXT    NOT NULL,
  epoch       INTEGER NOT NULL,
  acquired_at TEXT    NOT NULL,
  released_at TEXT,
  reason      TEXT,
  PRIMARY KEY (id, epoch)
);

-- "The open tenure of id": every activation closes it, so keep it one lookup
-- even for an entity that changed hands many times. The primary key already
-- serves max(epoch) by id and history in epoch order.
CREATE INDEX ownership_open_by_id ON ownership (id) WHERE released_at IS NULL;
