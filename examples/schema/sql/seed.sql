-- What every test starts from.
INSERT INTO App.Customer (CustomerNo, Name, Country) VALUES (1, 'Ada Lovelace', 'GB');
INSERT INTO App.Customer (CustomerNo, Name, Country) VALUES (2, 'Grace Hopper', 'US');
INSERT INTO App.Customer (CustomerNo, Name, Country) VALUES (3, 'Margaret Hamilton', 'US');

INSERT INTO App.Orders (OrderNo, CustomerNo, Amount) VALUES (10, 1, 100.00);
INSERT INTO App.Orders (OrderNo, CustomerNo, Amount) VALUES (11, 2, 42.50);
INSERT INTO App.Orders (OrderNo, CustomerNo, Amount) VALUES (12, 2, 7.50);
