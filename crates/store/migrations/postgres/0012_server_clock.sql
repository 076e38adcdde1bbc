-- The scaled clock's mapping (`serve --clock-speed`): at wall time `wall_at` the server's clock showed
-- `clock_at` and ran `speed` times faster than real time. A restart continues from it, so the
-- server's clock never jumps back to wall time. One row.
CREATE TABLE server_clock (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    clock_at   TIMESTAMPTZ NOT NULL,
    wall_at    TIMESTAMPTZ NOT NULL,
    speed      DOUBLE PRECISION NOT NULL
);
