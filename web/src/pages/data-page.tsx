import { Tabs } from '@mantine/core';
import { IconActivity, IconBuilding, IconChartLine, IconUsers } from '@tabler/icons-react';
import { useNavigate, useParams } from 'react-router';
import { PageHeader } from '../components/page-header';
import { ActivitiesTab } from './data-activities-tab';
import { CompaniesTab, EndusersTab } from './data-people-tabs';
import { MetricsTab } from './data-metrics-tab';

const TABS = ['metrics', 'activities', 'endusers', 'companies'] as const;
type Tab = (typeof TABS)[number];

/** The data module: what landed, as tables and charts. */
export function DataPage() {
  const { tab } = useParams();
  const navigate = useNavigate();
  const current: Tab = (TABS as readonly string[]).includes(tab ?? '') ? (tab as Tab) : 'metrics';
  return (
    <>
      <PageHeader
        title="Data"
        description="Everything the sections landed: custom metrics, user activities, and the endusers and companies they belong to."
      />
      <Tabs
        value={current}
        onChange={(v) => v && navigate(`/data/${v}`)}
        keepMounted={false}
        variant="outline"
      >
        <Tabs.List mb="lg">
          <Tabs.Tab
            value="metrics"
            leftSection={<IconChartLine size={16} />}
            data-testid="data-tab-metrics"
          >
            Metrics
          </Tabs.Tab>
          <Tabs.Tab
            value="activities"
            leftSection={<IconActivity size={16} />}
            data-testid="data-tab-activities"
          >
            Activities
          </Tabs.Tab>
          <Tabs.Tab
            value="endusers"
            leftSection={<IconUsers size={16} />}
            data-testid="data-tab-endusers"
          >
            Endusers
          </Tabs.Tab>
          <Tabs.Tab
            value="companies"
            leftSection={<IconBuilding size={16} />}
            data-testid="data-tab-companies"
          >
            Companies
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="metrics">
          <MetricsTab />
        </Tabs.Panel>
        <Tabs.Panel value="activities">
          <ActivitiesTab />
        </Tabs.Panel>
        <Tabs.Panel value="endusers">
          <EndusersTab />
        </Tabs.Panel>
        <Tabs.Panel value="companies">
          <CompaniesTab />
        </Tabs.Panel>
      </Tabs>
    </>
  );
}
