package io.sluice.scheduling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The queue behaves as a list with removeIf, insertion in front and removal by identity would. */
class RequestQueueTest {

    @Test
    void randomOperationsMatchAnArrayList() {
        SplittableRandom rnd = new SplittableRandom(11);
        RequestQueue queue = new RequestQueue(st -> st == RequestState.WAITING);
        List<Request> model = new ArrayList<>();
        int next = 0;
        for (int step = 0; step < 20_000; step++) {
            int op = rnd.nextInt(10);
            if (op < 5) {
                Request r = TestRequests.interactive("r" + next++, 4, 4, 0);
                queue.append(r);
                model.add(r);
            } else if (op < 7 && !model.isEmpty()) {
                // Some requests leave: near the head (FCFS admission), near the tail, or anywhere.
                int leave = 1 + rnd.nextInt(Math.min(8, model.size()));
                int where = rnd.nextInt(3);
                int marked = 0;
                for (int k = 0; k < model.size() && marked < leave; k++) {
                    int i = where == 1 ? model.size() - 1 - k : k;
                    if (where != 2 || rnd.nextInt(4) == 0) {
                        if (model.get(i).state() == RequestState.WAITING) {
                            model.get(i).setState(RequestState.PREFILLING);
                            marked++;
                        }
                    }
                }
                queue.removeLeft(marked);
                model.removeIf(x -> x.state() != RequestState.WAITING);
            } else if (op < 8) {
                List<Request> front = new ArrayList<>();
                for (int i = rnd.nextInt(4); i > 0; i--) {
                    front.add(TestRequests.interactive("r" + next++, 4, 4, 0));
                }
                queue.prependAll(front);
                model.addAll(0, front);
            } else if (op < 9 && !model.isEmpty()) {
                Request r = model.get(rnd.nextInt(model.size()));
                assertThat(queue.delete(r)).isTrue();
                model.remove(r);
            } else {
                assertThat(queue.delete(TestRequests.interactive("absent", 4, 4, 0))).isFalse();
            }
            assertThat(queue.size()).isEqualTo(model.size());
            if (step % 97 == 0 || model.size() < 40) {
                assertThat(new ArrayList<>(queue)).as("after step %d", step).isEqualTo(model);
            }
        }
        assertThat(new ArrayList<>(queue)).isEqualTo(model);
    }

    @Test
    void isReadOnlyThroughTheListInterface() {
        RequestQueue queue = new RequestQueue(st -> st == RequestState.WAITING);
        Request r = TestRequests.interactive("r", 4, 4, 0);
        queue.append(r);
        assertThatThrownBy(() -> queue.add(r)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> queue.remove(0)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(queue::clear).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> queue.get(1)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(queue).containsExactly(r);
    }
}
