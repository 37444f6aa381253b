DROP TABLE events;
DROP TABLE urls;
DROP TABLE users;
