-- The application's tables. irisenv runs one statement at a time (split on ";" outside
-- quotes and comments); an error names this file and the line of the failing statement.
CREATE TABLE App.Customer (
    CustomerNo INT PRIMARY KEY,
    Name VARCHAR(100) NOT NULL,
    Country VARCHAR(2)
);

CREATE TABLE App.Orders (
    OrderNo INT PRIMARY KEY,
    CustomerNo INT NOT NULL,
    Amount NUMERIC(10, 2) NOT NULL
);
