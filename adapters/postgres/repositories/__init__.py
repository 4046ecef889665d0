"""PostgreSQL repositories, one module per aggregate; each holds its queries and leaves writing to its mapping."""
