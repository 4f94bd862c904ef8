-- News items say whether staff wrote them: `author_role` is the poster's role when posting
-- ('admin' or 'user'), answered with `is_official` so a fan who named the account like an
-- operator cannot pass a post off as the operators'. Items posted before this column existed
-- take their author's role as the account has it now.
ALTER TABLE ticket.news
    ADD COLUMN author_role text NOT NULL DEFAULT 'user',
    ADD CONSTRAINT news_author_role_check CHECK (author_role IN ('admin', 'user'));

UPDATE ticket.news n SET author_role = 'admin'
  FROM auth.users u
 WHERE u.id = n.author_id AND u.role = 'admin';
