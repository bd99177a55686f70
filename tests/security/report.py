"""What the security tests checked, printed by the terminal summary of tests/conftest.py, added up over xdist workers
(whatever pytest's -s/-q flags are)."""


class Report(dict):
    def add(self, name: str, **counts) -> None:
        entry = self.setdefault(name, {})
        for key, value in counts.items():
            entry[key] = entry.get(key, 0) + value if isinstance(value, int) else value

    def lines(self) -> list[str]:
        return [
            f"{name}: " + ", ".join(f"{key} {value}" for key, value in entry.items()) for name, entry in self.items()
        ]


REPORT = Report()
