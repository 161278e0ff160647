"""The local stack: RabbitMQ vhosts, SecantusDB, a mail folder and every service, on one machine."""
