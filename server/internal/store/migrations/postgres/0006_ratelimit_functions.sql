-- Rate limits in one stored function: the statement the server sends is a
-- short call instead of a CTE that PostgreSQL parses and plans on every
-- request (bun writes the arguments into the text, so nothing is prepared),
-- and the function's own statements keep their plans for the session.

-- cstar_rate_allow applies GCRA to bucket p_key at the database clock:
-- a request of p_step microseconds (n intervals for n requests at once) is
-- admitted iff the bucket's debt after it fits in p_window. The row lock
-- serialises concurrent calls for one key; every process reads the one
-- database clock, so servers with skewed clocks agree. o_tat is the
-- bucket's theoretical arrival time after the call, o_now the clock.
CREATE FUNCTION cstar_rate_allow(p_key text, p_step bigint, p_window bigint,
                                 OUT o_allowed boolean, OUT o_tat bigint, OUT o_now bigint)
LANGUAGE plpgsql AS $$
BEGIN
    o_now := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    UPDATE rate_limits AS r SET
        tat_us = CASE WHEN greatest(r.tat_us, o_now) + p_step - o_now <= p_window
                      THEN greatest(r.tat_us, o_now) + p_step ELSE r.tat_us END,
        allowed = greatest(r.tat_us, o_now) + p_step - o_now <= p_window
    WHERE r.key = p_key
    RETURNING r.tat_us, r.allowed INTO o_tat, o_allowed;
    IF FOUND THEN
        RETURN;
    END IF;
    -- A new key (or one swept meanwhile): a full bucket, unless another
    -- call inserted it first.
    INSERT INTO rate_limits AS r (key, tat_us, allowed) VALUES (p_key, o_now + p_step, p_step <= p_window)
    ON CONFLICT (key) DO UPDATE SET
        tat_us = CASE WHEN greatest(r.tat_us, o_now) + p_step - o_now <= p_window
                      THEN greatest(r.tat_us, o_now) + p_step ELSE r.tat_us END,
        allowed = greatest(r.tat_us, o_now) + p_step - o_now <= p_window
    RETURNING r.tat_us, r.allowed INTO o_tat, o_allowed;
END $$;
