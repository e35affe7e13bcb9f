"""The only place sockets and scapy are used."""
