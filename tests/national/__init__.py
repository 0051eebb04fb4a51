"""Tests of gripkit.national."""
