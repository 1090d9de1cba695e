-- How current each acknowledgement listener's state is: saved after every poll, not only on a change.
ALTER TABLE listener_state ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;  -- failed polls in a row
ALTER TABLE listener_state ADD COLUMN last_ok_at DOUBLE PRECISION;         -- its last successful poll
ALTER TABLE listener_state ADD COLUMN polled_at DOUBLE PRECISION;          -- its last poll, failed or not
