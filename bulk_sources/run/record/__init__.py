"""What a run keeps on disk: its folder, journal, results, report files and summary."""
