"""C++ scenarios: leaks through operator new / new[] are blamed on the caller, and a lost tree
reports its root as the one direct leak with every descendant indirect."""
import os

from harness import PROGRAMS, Scenario, line_of, main

SRC = os.path.join(PROGRAMS, "cxx_leaks.cpp")


class CxxLeaks(Scenario):
    def traced_report(self):
        exe = self.compile("cxx_leaks.cpp", cxx=True)
        proc, trace = self.run_traced([exe])
        self.assertEqual(proc.stdout, "done\n")
        return self.report(trace)

    def test_new_blamed_on_caller_with_exact_size(self):
        report = self.traced_report()
        leaks = self.leaks_in(report, "make_widgets(int)", "unreachable")
        by_line = {self.blamed(l)["line"]: (l["bytes"], l["blocks"], l["indirect"]) for l in leaks}
        self.assertEqual(by_line, {
            line_of(SRC, "new Widget();  // LEAK_NEW"): (7 * 48, 7, False),
            # new[] of a type with a destructor: 3 x 40 bytes plus the 8-byte element count.
            line_of(SRC, "LEAK_NEW_ARRAY"): (3 * 40 + 8, 1, False),
        })
        for leak in leaks:
            self.assertTrue(self.blamed(leak)["file"].endswith("cxx_leaks.cpp"))
            # The frame above the blamed one is operator new / new[] in libstdc++, never blamed.
            self.assertGreater(leak["blame"], 0)
            self.assertIn("operator new", leak["frames"][0]["function"])
        self.assertEqual(self.leaks_in(report, "churn()"), [])

    def test_lost_tree_root_direct_descendants_indirect(self):
        report = self.traced_report()
        root = self.leak_in(report, "make_tree()", "unreachable")
        self.assertEqual((root["bytes"], root["blocks"], root["indirect"]), (64, 1, False))
        self.assertEqual(self.blamed(root)["line"], line_of(SRC, "// ROOT"))

        children = self.leak_in(report, "make_child()", "unreachable")
        self.assertEqual((children["bytes"], children["blocks"], children["indirect"]), (4 * 64, 4, True))
        self.assertEqual(self.blamed(children)["line"], line_of(SRC, "// CHILD"))

        grandchildren = self.leak_in(report, "make_grandchild()", "unreachable")
        self.assertEqual((grandchildren["bytes"], grandchildren["blocks"], grandchildren["indirect"]),
                         (8 * 64, 8, True))
        self.assertEqual(self.blamed(grandchildren)["line"], line_of(SRC, "// GRANDCHILD"))

        # Direct + indirect totals add up: only the tree and make_widgets' blocks are unreachable.
        self.assertEqual(report["totals"]["indirect"], {"bytes": 12 * 64, "blocks": 12})


if __name__ == "__main__":
    main()
