-- The three standard seat layouts every installation starts with (the contract promises them).
-- Rows are numbered continuously across sections via startRow, so a seat's (row, number) pair is
-- unique within a section and readable on a ticket.

INSERT INTO ticket.seat_layouts (name, description, total_seats, layout_config) VALUES
('small_theater', 'Small theater: VIP and R sections', 265,
 '{"sections": [
    {"name": "VIP", "rows": 5,  "seatsPerRow": 13, "price": 150000, "startRow": 1},
    {"name": "R",   "rows": 10, "seatsPerRow": 20, "price": 110000, "startRow": 6}
 ]}'),
('large_theater', 'Large theater: VIP, R and S sections', 1250,
 '{"sections": [
    {"name": "VIP", "rows": 5,  "seatsPerRow": 30, "price": 180000, "startRow": 1},
    {"name": "R",   "rows": 10, "seatsPerRow": 40, "price": 140000, "startRow": 6},
    {"name": "S",   "rows": 14, "seatsPerRow": 50, "price": 99000,  "startRow": 16}
 ]}'),
('sports_stadium', 'Stadium: floor and three stands', 4900,
 '{"sections": [
    {"name": "FLOOR", "rows": 10, "seatsPerRow": 50, "price": 220000, "startRow": 1},
    {"name": "A",     "rows": 20, "seatsPerRow": 80, "price": 165000, "startRow": 1},
    {"name": "B",     "rows": 20, "seatsPerRow": 80, "price": 132000, "startRow": 1},
    {"name": "C",     "rows": 15, "seatsPerRow": 80, "price": 99000,  "startRow": 1}
 ]}')
ON CONFLICT ON CONSTRAINT seat_layouts_name_key DO NOTHING;

-- Korean and English names fans search by interchangeably.
INSERT INTO ticket.search_keywords (alias, canonical) VALUES
('BTS', '방탄소년단'),
('Bangtan', '방탄소년단'),
('IU', '아이유'),
('BLACKPINK', '블랙핑크'),
('SEVENTEEN', '세븐틴'),
('NewJeans', '뉴진스'),
('Seoul', '서울'),
('Busan', '부산'),
('Olympic Park', '올림픽공원'),
('Concert', '콘서트')
ON CONFLICT ON CONSTRAINT search_keywords_pair_key DO NOTHING;
