"""The phone flow (seed 000's URA): menus, identification, tickets, status, technician."""
