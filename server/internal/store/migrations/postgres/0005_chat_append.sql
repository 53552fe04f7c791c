-- Appending a chat message in one statement. The team's event counter row
-- is locked from the moment a position is taken until the commit, which is
-- what keeps positions gap-free and in commit order; run from the client,
-- that lock spanned network round trips and capped a team at a few hundred
-- messages a second. As one server-side call in its own transaction, it is
-- held for the statement and the commit only.

-- cstar_log_event numbers an event in its team's log, stores it and queues
-- its notice (sent by the commit).
CREATE FUNCTION cstar_log_event(p_team uuid, p_mode text, p_type text, p_ticket uuid, p_customer uuid,
                                p_message uuid, p_at timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_pos bigint;
BEGIN
    INSERT INTO event_counters (team_id, mode, pos) VALUES (p_team, p_mode, 1)
    ON CONFLICT (team_id, mode) DO UPDATE SET pos = event_counters.pos + 1
    RETURNING pos INTO v_pos;
    INSERT INTO events (team_id, mode, pos, type, ticket_id, customer_id, message_id, created_at)
    VALUES (p_team, p_mode, v_pos, p_type, p_ticket, p_customer, p_message, p_at);
    PERFORM pg_notify('cstar_events', 'd|' || p_team || '|' || p_mode || '|' || v_pos);
    RETURN v_pos;
END $$;

-- cstar_append_message stores a message: in p_ticket, or (p_ticket NULL)
-- in the customer's open chat ticket, opening one with id p_new_ticket when
-- none is open. A message already stored under p_dedup is returned instead
-- (o_fresh false). o_customer is the ticket's customer, to whom the message
-- is delivered. Raises no_data_found when p_ticket does not exist.
CREATE FUNCTION cstar_append_message(
    p_team uuid, p_mode text, p_ticket uuid, p_customer uuid,
    p_author_type text, p_author_id text, p_author_name text, p_body text,
    p_client_id text, p_dedup text, p_subject text, p_now timestamptz,
    p_message uuid, p_new_ticket uuid)
RETURNS TABLE (o_message uuid, o_ticket uuid, o_seq bigint, o_fresh boolean, o_ticket_pos bigint, o_message_pos bigint,
               o_customer uuid)
LANGUAGE plpgsql AS $$
DECLARE
    v_ticket uuid;
    v_seq bigint;
    v_customer uuid;
BEGIN
    o_ticket_pos := 0;
    IF p_dedup IS NOT NULL THEN
        SELECT m.id, m.ticket_id, m.seq INTO o_message, o_ticket, o_seq
        FROM messages m WHERE m.team_id = p_team AND m.mode = p_mode AND m.dedup_key = p_dedup;
        IF FOUND THEN
            o_fresh := false;
            o_message_pos := 0;
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    IF p_ticket IS NOT NULL THEN
        UPDATE tickets SET last_seq = last_seq + 1, updated_at = p_now
        WHERE id = p_ticket AND team_id = p_team AND mode = p_mode
        RETURNING id, last_seq, customer_id INTO v_ticket, v_seq, v_customer;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'ticket % not found', p_ticket USING ERRCODE = 'no_data_found';
        END IF;
    ELSE
        UPDATE tickets SET last_seq = last_seq + 1, updated_at = p_now
        WHERE team_id = p_team AND mode = p_mode AND customer_id = p_customer
          AND channel = 'chat' AND status <> 'closed'
        RETURNING id, last_seq, customer_id INTO v_ticket, v_seq, v_customer;
        IF NOT FOUND THEN
            INSERT INTO tickets (id, team_id, mode, subject, status, priority, channel, customer_id, tags,
                                 created_at, updated_at, last_seq)
            VALUES (p_new_ticket, p_team, p_mode, p_subject, 'open', 'normal', 'chat', p_customer, '[]',
                    p_now, p_now, 1);
            v_ticket := p_new_ticket;
            v_seq := 1;
            v_customer := p_customer;
            o_ticket_pos := cstar_log_event(p_team, p_mode, 'ticket.created', v_ticket, v_customer, NULL, p_now);
        END IF;
    END IF;
    INSERT INTO messages (id, team_id, mode, ticket_id, seq, author_type, author_id, author_name, body,
                          client_id, dedup_key, created_at)
    VALUES (p_message, p_team, p_mode, v_ticket, v_seq, p_author_type, p_author_id, p_author_name, p_body,
            p_client_id, p_dedup, p_now);
    o_message_pos := cstar_log_event(p_team, p_mode, 'message.created', v_ticket, v_customer, p_message, p_now);
    o_message := p_message;
    o_ticket := v_ticket;
    o_seq := v_seq;
    o_customer := v_customer;
    o_fresh := true;
    RETURN NEXT;
END $$;
