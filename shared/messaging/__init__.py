"""RabbitMQ topology, publishing and subscribing."""
