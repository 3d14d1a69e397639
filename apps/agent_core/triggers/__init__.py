"""What starts runs without a person: schedules and alerts, each exactly once across replicas."""
