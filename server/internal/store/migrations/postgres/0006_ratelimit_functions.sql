-- Rate limits in one stored function, which also lends a busy key's bucket
-- to the one process that uses it (docs/rate-limits.md). The statement the
-- server sends is a short call instead of a CTE that PostgreSQL parsed and
-- planned on every request (bun writes the arguments into the text, so
-- nothing is prepared); the function's own statements keep their plans.

ALTER TABLE rate_limits
    DROP COLUMN allowed,
    -- The process holding the bucket (0: none), which hold, and until when
    -- on the database clock. While a bucket is held, tat_us includes the
    -- requests set aside for its holder.
    ADD COLUMN holder bigint NOT NULL DEFAULT 0,
    ADD COLUMN epoch bigint NOT NULL DEFAULT 0,
    ADD COLUMN held_until_us bigint NOT NULL DEFAULT 0,
    -- The process that decided last and when, and until when the bucket
    -- counts as shared by several processes: only a process that used the
    -- bucket within a hold's time, alone, may hold it.
    ADD COLUMN last_holder bigint,
    ADD COLUMN last_us bigint NOT NULL DEFAULT 0,
    ADD COLUMN shared_until_us bigint NOT NULL DEFAULT 0;

-- cstar_rate_limit applies GCRA to bucket p_key at the database clock, all
-- times in microseconds. p_n requests (0: none) are admitted at once iff
-- the bucket's debt after them fits in p_window; p_interval is T.
--
-- p_holder names the calling process (0: one that never holds). A caller
-- that holds the bucket gives the hold back by passing its epoch and its
-- exact state p_tat, which replaces the reserve. With p_hold, a process
-- that used the bucket in the last p_ttl, and that no other process has
-- touched in the last p_shared_for, gets it lent until o_now + p_ttl
-- (o_epoch > 0): it may then admit requests in memory up to o_cap, which
-- is the row's tat_us meanwhile (at most p_reserve intervals above the
-- decision), so that a holder that never gives the hold back has spent no
-- more than its reserve. A bucket held by another process is not decided:
-- o_wait says how long the hold has left, and the bucket becomes shared.
CREATE FUNCTION cstar_rate_limit(
    p_key text, p_holder bigint, p_epoch bigint, p_tat bigint,
    p_n integer, p_interval bigint, p_window bigint,
    p_hold boolean, p_reserve integer, p_ttl bigint, p_shared_for bigint,
    OUT o_allowed boolean, OUT o_tat bigint, OUT o_now bigint,
    OUT o_epoch bigint, OUT o_cap bigint, OUT o_wait bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r rate_limits;
    v_returned boolean;
    v_base bigint;
    v_shared bigint;
    v_reserve bigint;
BEGIN
    LOOP
        SELECT * INTO r FROM rate_limits WHERE key = p_key FOR UPDATE;
        EXIT WHEN FOUND;
        INSERT INTO rate_limits (key, tat_us) VALUES (p_key, 0) ON CONFLICT (key) DO NOTHING;
    END LOOP;
    -- Read under the row lock: the decision happens where it is serialised.
    o_now := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    o_epoch := 0;
    o_cap := 0;
    o_wait := 0;
    v_returned := p_epoch <> 0 AND r.holder = p_holder AND r.epoch = p_epoch;
    IF r.holder <> 0 AND r.held_until_us > o_now AND NOT v_returned THEN
        IF r.holder <> p_holder THEN
            UPDATE rate_limits SET shared_until_us = o_now + p_shared_for WHERE key = p_key;
        END IF;
        o_allowed := false;
        o_tat := r.tat_us;
        o_wait := r.held_until_us - o_now;
        RETURN;
    END IF;
    IF v_returned THEN
        v_base := p_tat;
    ELSE
        v_base := r.tat_us; -- an expired hold's reserve stays spent
    END IF;
    v_shared := r.shared_until_us;
    IF p_n > 0 AND r.last_holder <> p_holder THEN
        v_shared := o_now + p_shared_for;
    END IF;
    o_allowed := true;
    o_tat := v_base;
    IF p_n > 0 THEN
        o_tat := greatest(v_base, o_now) + p_n * p_interval;
        o_allowed := o_tat - o_now <= p_window;
        IF NOT o_allowed THEN
            o_tat := v_base;
        END IF;
    END IF;
    IF p_hold AND v_shared <= o_now
       AND (v_returned OR (r.last_holder = p_holder AND o_now - r.last_us < p_ttl)) THEN
        v_reserve := least(p_reserve, greatest((o_now + p_window - greatest(o_tat, o_now)) / p_interval, 0));
        o_cap := greatest(o_tat, o_now) + v_reserve * p_interval;
        o_epoch := r.epoch + 1;
        UPDATE rate_limits SET tat_us = o_cap, holder = p_holder, epoch = o_epoch,
            held_until_us = o_now + p_ttl, last_holder = p_holder, last_us = o_now, shared_until_us = v_shared
        WHERE key = p_key;
    ELSIF p_n > 0 THEN
        UPDATE rate_limits SET tat_us = o_tat, holder = 0, held_until_us = 0,
            last_holder = p_holder, last_us = o_now, shared_until_us = v_shared
        WHERE key = p_key;
    ELSE
        UPDATE rate_limits SET tat_us = o_tat, holder = 0, held_until_us = 0 WHERE key = p_key;
    END IF;
END $$;
